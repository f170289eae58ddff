"""kill -9 at a random moment and --resume give bit-identical weights to a run left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from qaaan.checkpoint import CHECKPOINT

TINY = ["--dataset", "mnist-10k", "--latent", "16", "--bm-samples", "32", "--batch-size", "8",
        "--width", "4", "--iterations", "12", "--checkpoint-every", "1", "--beta-eff-every",
        "5", "--grid-every", "4", "--device", "cpu", "--ema", "0.9"]  # fmt: skip
PRIORS = {
    "uniform": ["--prior", "uniform"],
    "normal": ["--prior", "normal"],
    "bm-gibbs": ["--sampler", "gibbs"],
    "bm-sqa": ["--sampler", "sqa", "--sampler-option", "initial_state=persistent"],
    "bm-mock-dwave": ["--sampler", "mock-dwave", "--sampler-option", "dead_fraction=0.01"],
    "qbm-sqa": ["--prior", "qbm", "--gamma-schedule", "1,0.2", "--sampler-option",
                "initial_state=persistent"],
    "qcbm": ["--prior", "qcbm", "--qubits", "8"],
    "bm-qemcmc": ["--latent", "8", "--sampler", "qemcmc", "--sampler-option", "backend=exact",
                  "--sampler-option", "burn_in=5"],
}  # fmt: skip


def _train(out: Path, options: list[str], *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "qaaan", "train", *TINY, *options, "--out", str(out), *extra]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip


def _finish(process: subprocess.Popen) -> None:
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors.decode()[-2000:]


def _tensors(out: Path) -> dict[str, torch.Tensor]:
    state = torch.load(out / CHECKPOINT, weights_only=True)
    flat = {}
    for part in ("generator", "discriminator", "generator_average"):
        for key, value in state[part].items():
            flat[f"{part}.{key}"] = value
    for machine in ("bm", "qcbm"):
        for key, value in state["prior"].get(machine, {}).items():
            flat[f"{machine}.{key}"] = value
    return flat


@pytest.mark.parametrize("prior", list(PRIORS))
def test_kill_9_and_resume_match_an_uninterrupted_run(tmp_path, prior):
    started = time.perf_counter()
    straight = _train(tmp_path / "straight", PRIORS[prior])
    _finish(straight)
    duration = time.perf_counter() - started
    delay = np.random.default_rng(list(PRIORS).index(prior)).uniform(0.2, 0.7) * duration
    killed = _train(tmp_path / "killed", PRIORS[prior])
    time.sleep(delay)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL  # it was stopped mid-run, not after the end
    has_checkpoint = (tmp_path / "killed" / CHECKPOINT).exists()
    _finish(_train(tmp_path / "killed", PRIORS[prior], *(["--resume"] if has_checkpoint else [])))
    expected, resumed = _tensors(tmp_path / "straight"), _tensors(tmp_path / "killed")
    assert expected.keys() == resumed.keys() and len(expected) > 10
    different = [key for key in expected if not torch.equal(expected[key], resumed[key])]
    assert not different, different
