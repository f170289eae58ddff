"""The bad-input sweep: property-based (hypothesis, derandomised) and by case.

Every case ends either in success or in exit code 2 with one line "error: ..." (never a
traceback), and nothing already saved is lost: a refused --resume leaves the checkpoint's bytes
as they were; a machine that turns NaN during training stops it with the last good checkpoint.
"""

from __future__ import annotations

import math
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

from qaaan import checkpoint
from qaaan.bm import BoltzmannMachine
from qaaan.cli import app

runner = CliRunner()
SWEEP = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TINY = ["--dataset", "mnist-10k", "--latent", "16", "--bm-samples", "16", "--batch-size", "8"]


def _ends_cleanly(result) -> bool:
    """Success, or exit 2 with exactly one line, 'error: ...' (an uncaught exception would give
    exit code 1 and leave it in result.exception)."""
    if result.exit_code == 0:
        return True
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    return result.exit_code == 2 and len(errors) == 1 and isinstance(result.exception, SystemExit)


wild = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(-2, 2), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(-2, 2), max_size=2),
)
reasonable = {
    "prior": st.sampled_from(["bm", "uniform", "normal"]),
    "topology": st.sampled_from(["chimera", "complete", "bipartite"]),
    "sampler": st.sampled_from(["gibbs", "sqa", "exact"]),
    "sampler_options": st.just({"seed": 1}),
    "bm_lr": st.just(0.001),
    "width": st.just(4),
    "alpha": st.just(2.0),
    "label_noise": st.just(0.05),
    "beta1": st.just(0.5),
    "seed": st.integers(0, 5),
    "checkpoint_every": st.just(1),
    "grid_every": st.just(0),
}
config_files = st.dictionaries(
    st.one_of(
        st.sampled_from(sorted(reasonable)),
        st.sampled_from(["unknown", "lr", "epochs", "iterations"]),
        st.integers(0, 3),
    ),
    wild,
    max_size=4,
).flatmap(
    lambda bad: st.fixed_dictionaries({k: v for k, v in reasonable.items() if k not in bad}).map(
        lambda good: {**good, **bad}
    )
)


@SWEEP
@given(content=config_files, fmt=st.sampled_from(["yaml", "toml"]))
def test_config_files_train_or_fail_in_one_line(content, fmt):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"config.{fmt}"
        if fmt == "yaml":
            path.write_text(yaml.safe_dump(content))
        else:
            path.write_text(_toml(content))
        out = Path(folder) / "run"
        arguments = ["train", "--config", str(path), *TINY, "--iterations", "1", "--out", str(out)]
        result = runner.invoke(app, arguments)
        assert _ends_cleanly(result), (content, result.output, result.exception)
        if result.exit_code == 0:
            assert checkpoint.load(out / checkpoint.CHECKPOINT)["iteration"] == 1


def _toml(content: dict) -> str:
    """A TOML rendering of what TOML can hold (None has no TOML form: a bare string instead)."""

    def value(v):
        if v is None or isinstance(v, dict | list):
            return repr(str(v)).replace("'", '"') if not isinstance(v, list) else repr(v)
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, str):
            return '"' + v.encode("unicode_escape").decode().replace('"', '\\"') + '"'
        return repr(v)

    return "\n".join(f"{key} = {value(v)}" for key, v in content.items())


OPTIONS = [
    "--dataset", "--prior", "--topology", "--sampler", "--sampler-option", "--device",
    "--preset", "--latent", "--bm-samples", "--batch-size", "--seed", "--bm-lr",
]  # fmt: skip


@SWEEP
@given(
    option=st.sampled_from(OPTIONS),
    text=st.one_of(
        st.text(max_size=8),
        st.sampled_from(["-1", "0", "1e400", "nan", "inf", "beta=", "=1", "beta=x", "seed=-1"]),
    ),
)
def test_cli_options_train_or_fail_in_one_line(option, text):
    with tempfile.TemporaryDirectory() as folder:
        arguments = ["train", *TINY, "--iterations", "1", "--out", f"{folder}/run", option, text]
        result = runner.invoke(app, arguments)
        if result.exit_code == 2 and "Usage:" in result.output:
            return  # typer's own parse error (a number option given text): its usage message
        assert _ends_cleanly(result), (option, text, result.output, result.exception)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("saved") / "run"
    result = runner.invoke(app, ["train", *TINY, "--iterations", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _mutated_structure(state: dict, key: str, how: str) -> dict:
    state = dict(state)
    if how == "drop":
        state.pop(key)
    elif how == "tensor":
        state[key] = torch.zeros(3)
    else:  # a part whose tensors have the wrong shapes
        state[key] = {k: torch.zeros(1) for k in state[key]} if isinstance(state[key], dict) else []
    return state


@SWEEP
@given(
    mutation=st.one_of(
        st.tuples(st.just("truncate"), st.floats(0, 0.999)),
        st.tuples(st.just("flip"), st.lists(st.floats(0, 0.999), min_size=1, max_size=20)),
        st.tuples(
            st.just("structure"),
            st.sampled_from(
                [
                    "generator",
                    "discriminator",
                    "opt_g",
                    "opt_d",
                    "prior",
                    "rng",
                    "data_position",
                    "config",
                    "sampler_ranks",
                ]
            ),
            st.sampled_from(["drop", "tensor", "shapes"]),
        ),
    ),
    command=st.sampled_from(["sample", "resume"]),
)
def test_damaged_checkpoints_fail_in_one_line_and_are_left_as_they_were(
    saved_run, mutation, command
):
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        shutil.copytree(saved_run, run)
        path = run / checkpoint.CHECKPOINT
        data = bytearray(path.read_bytes())
        if mutation[0] == "truncate":
            data = data[: int(mutation[1] * len(data))]
        elif mutation[0] == "flip":
            for where in mutation[1]:
                data[int(where * len(data))] ^= 0xFF
        else:
            state = torch.load(path, weights_only=True)
            torch.save(_mutated_structure(state, mutation[1], mutation[2]), path)
            data = bytearray(path.read_bytes())
        path.write_bytes(bytes(data))
        if command == "sample":
            arguments = ["sample", "--checkpoint", str(run), "-n", "4", "--out", f"{folder}/s.png"]
        else:
            arguments = ["train", "--resume", "--iterations", "3", "--out", str(run)]
        result = runner.invoke(app, arguments)
        assert _ends_cleanly(result), (mutation, result.output, result.exception)
        if result.exit_code != 0:
            assert path.read_bytes() == bytes(data)


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {Path(tempfile.gettempdir()) / 'qaaan-pwned'}",))


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = Path(tempfile.gettempdir()) / "qaaan-pwned"
    marker.unlink(missing_ok=True)
    run = tmp_path / "run"
    run.mkdir()
    (run / checkpoint.CHECKPOINT).write_bytes(pickle.dumps({"config": _Payload(), "generator": {}}))
    result = runner.invoke(app, ["sample", "--checkpoint", str(run)])
    assert result.exit_code == 2 and "is corrupt or not a qaaan checkpoint" in result.output
    assert not marker.exists()


@SWEEP
@given(
    bad_value=st.sampled_from([math.nan, math.inf, -math.inf]),
    where=st.sampled_from(["h", "J"]),
    at_iteration=st.integers(2, 5),
)
def test_a_machine_turning_nan_stops_training_and_keeps_the_last_checkpoint(
    bad_value, where, at_iteration
):
    learn = BoltzmannMachine.learn
    calls = {"n": 0}

    def poisoned(self, *args, **kwargs):
        result = learn(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == at_iteration + 1:
            getattr(self, where).data[0] = bad_value
        return result

    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(BoltzmannMachine, "learn", poisoned)
        out = Path(folder) / "run"
        arguments = ["train", *TINY, "--iterations", "6", "--out", str(out)]
        config = Path(folder) / "every2.toml"
        config.write_text("checkpoint_every = 2\n")
        result = runner.invoke(app, [*arguments, "--config", str(config)])
        assert result.exit_code == 2 and _ends_cleanly(result), result.output
        assert f"NaN or infinite at iteration {at_iteration}" in result.output
        state = checkpoint.load(out / checkpoint.CHECKPOINT)
        assert state["iteration"] == at_iteration // 2 * 2
        machine = [v for v in state["prior"]["bm"].values() if torch.is_tensor(v)]
        assert all(torch.isfinite(v).all() for v in machine)
        patch.undo()
        resumed = runner.invoke(app, ["train", "--resume", "--out", str(out)])
        assert resumed.exit_code == 0, resumed.output
        assert checkpoint.load(out / checkpoint.CHECKPOINT)["iteration"] == 6


def _image_folder(root: Path, count: int, corrupt: bool) -> Path:
    folder = root / "images" / "class"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        pixels = rng.integers(0, 255, size=(70, 70, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index}.png")
    if corrupt:
        (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return root / "images"


@pytest.mark.parametrize(
    ("count", "corrupt", "message"),
    [
        (0, False, "or its subfolders (looked for .jpg, .jpeg, .png"),
        (3, False, "has 3 images, fewer than one batch of 4"),
        (3, True, "cannot be read"),
        (7, False, None),
    ],
)
def test_empty_tiny_and_corrupt_image_folders(tmp_path, count, corrupt, message):
    root = _image_folder(tmp_path, count, corrupt)
    arguments = [
        "train", "--dataset", "folder", "--data-dir", str(root), "--prior", "uniform",
        "--batch-size", "4", "--iterations", "1", "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    result = runner.invoke(app, arguments)
    assert _ends_cleanly(result), result.output
    if message is None:
        assert result.exit_code == 0
    else:
        assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.write_bytes(b"\x00" * 5), "header too small"),
        (lambda path: path.mkdir(), ""),
        (lambda path: None, "No such file"),
        (lambda path: save_file({"weight": torch.zeros(2)}, str(path)), "state_dict"),
    ],
    ids=["corrupt", "folder", "missing", "other-weights"],
)
def test_classifier_weights_that_cannot_be_read_fail_in_one_line(tmp_path, make, reason):
    weights = tmp_path / "weights.safetensors"
    make(weights)
    result = runner.invoke(app, ["evaluate", "--real", "--classifier", str(weights)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: classifier weights {str(weights)!r} cannot be read (")
    assert reason in line
