"""Data-parallel training (`qaaan.distributed`): 2 gloo processes against 1 with the doubled batch.

With the machine's reads broadcast from rank 0, the 2-process run is the 1-process run. In
float32 the two differ by rounding only, but the generator's first gradients are tiny residues
of cancelling terms (through the batch norms), where rounding is 10% of the value; so the exact
comparison runs in float64, where they agree to 1e-16 per gradient.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from qaaan import ConfigError, distributed
from qaaan.checkpoint import CHECKPOINT
from qaaan.checkpoint import load as load_checkpoint
from qaaan.loop import Trainer
from qaaan.settings import TrainSettings

TINY = {
    "dataset": "mnist-10k", "latent": 16, "bm_samples": 32, "width": 4,
    "checkpoint_every": 1, "log_every": 1, "seed": 3,
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train_rank(rank: int, port: int, settings: dict, resume: bool) -> None:
    """One rank of a 2-process run in float64; it leaves its machine in bm-rank<r>.pt and the
    name of the sampler it built in sampler-rank<r>.txt."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank),
        LOCAL_RANK=str(rank),
    )  # fmt: skip
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    trainer = Trainer(TrainSettings(**settings), resume=resume)
    trainer.run()
    torch.save(trainer.prior.bm.state_dict(), f"{settings['out']}/bm-rank{rank}.pt")
    sampler_name = type(trainer.prior.sampler).__name__
    Path(settings["out"], f"sampler-rank{rank}.txt").write_text(sampler_name)


def _train_in_float64(settings: dict) -> None:
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        Trainer(TrainSettings(**settings)).run()
    finally:
        torch.set_default_dtype(default)


def _tensors(state: dict) -> dict[str, torch.Tensor]:
    parts = {**state["generator"], **state["discriminator"]}
    parts.update({f"bm.{k}": v for k, v in state["prior"]["bm"].items() if torch.is_tensor(v)})
    return {k: v.double() for k, v in parts.items()}


def test_two_processes_with_a_resume_match_one_process_with_the_doubled_batch(tmp_path):
    two = {**TINY, "batch_size": 4, "bm_reads": "broadcast", "out": str(tmp_path / "two")}
    mp.spawn(_train_rank, args=(_free_port(), {**two, "iterations": 2}, False), nprocs=2)
    mp.spawn(_train_rank, args=(_free_port(), {**two, "iterations": 3}, True), nprocs=2)
    _train_in_float64({**TINY, "batch_size": 8, "iterations": 3, "out": str(tmp_path / "one")})

    two_state = load_checkpoint(tmp_path / "two" / CHECKPOINT)
    one_state = load_checkpoint(tmp_path / "one" / CHECKPOINT)
    assert two_state["iteration"] == one_state["iteration"] == 3
    assert two_state["world_size"] == 2
    built = [(tmp_path / "two" / f"sampler-rank{r}.txt").read_text() for r in (0, 1)]
    assert built == ["GibbsSampler", "NoneType"]  # broadcast: rank 1 draws nothing
    assert two_state["data_position"] == one_state["data_position"]
    ranks = [torch.load(tmp_path / "two" / f"bm-rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(
        torch.equal(ranks[0][k], ranks[1][k]) for k in ranks[0] if torch.is_tensor(ranks[0][k])
    )
    two_tensors, one_tensors = _tensors(two_state), _tensors(one_state)
    assert two_tensors.keys() == one_tensors.keys()
    worst = max((two_tensors[k] - one_tensors[k]).abs().max().item() for k in one_tensors)
    assert worst < 1e-9, worst


def test_split_reads_keep_the_ranks_machines_identical_and_resume_exactly(tmp_path):
    """Each rank draws half the reads with its own chains: not the 1-process run any more, but
    the ranks still make the same machine update, and 2 + resume 1 iterations equal 3."""
    split = {**TINY, "batch_size": 4, "bm_reads": "split"}
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    mp.spawn(
        _train_rank,
        args=(_free_port(), {**split, "iterations": 3, "out": str(straight)}, False),
        nprocs=2,
    )
    mp.spawn(
        _train_rank,
        args=(_free_port(), {**split, "iterations": 2, "out": str(resumed)}, False),
        nprocs=2,
    )
    mp.spawn(
        _train_rank,
        args=(_free_port(), {**split, "iterations": 3, "out": str(resumed)}, True),
        nprocs=2,
    )

    ranks = [torch.load(straight / f"bm-rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert all(
        torch.equal(ranks[0][k], ranks[1][k]) for k in ranks[0] if torch.is_tensor(ranks[0][k])
    )
    straight_state = load_checkpoint(straight / CHECKPOINT)
    resumed_state = load_checkpoint(resumed / CHECKPOINT)
    assert len(straight_state["sampler_ranks"]) == 2
    built = [(straight / f"sampler-rank{r}.txt").read_text() for r in (0, 1)]
    assert built == ["GibbsSampler", "GibbsSampler"]
    chains = [s["chains"]["spins"] for s in straight_state["sampler_ranks"]]
    assert chains[0].shape == (1, 16, 16) and not torch.equal(chains[0], chains[1])
    one, other = _tensors(straight_state), _tensors(resumed_state)
    assert max((one[k] - other[k]).abs().max().item() for k in one) == 0.0


def test_torchrun_entry_point_trains_and_a_single_process_cannot_resume_it(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text("\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in TINY.items()))
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "qaaan", "train", "--config", str(config), "--batch-size", "4",
        "--iterations", "2", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("qaaan train ->") == 1  # rank 0 alone reports
    state = load_checkpoint(out / CHECKPOINT)
    assert (state["iteration"], state["world_size"]) == (2, 2)

    single = [sys.executable, "-m", "qaaan", "train", "--resume", "--iterations", "3"]
    refused = subprocess.run([*single, "--out", str(out)], capture_output=True, text=True)
    assert refused.returncode == 2
    assert "the run used 2 process(es), this is 1" in refused.stderr
    assert load_checkpoint(out / CHECKPOINT)["iteration"] == 2


@pytest.mark.parametrize(
    ("settings", "world_size", "split"),
    [
        ({"sampler": "gibbs"}, 2, True),  # auto: samplers that run here share the reads
        ({"sampler": "sqa"}, 4, True),
        ({"sampler": "mock-dwave"}, 2, False),  # auto: the QPU path is called once, by rank 0
        ({"sampler": "dwave"}, 2, False),
        ({"sampler": "gibbs", "bm_reads": "broadcast"}, 2, False),
        ({"sampler": "mock-dwave", "bm_reads": "split"}, 2, True),
        ({"sampler": "gibbs"}, 1, False),  # one process: nothing to share
        ({"prior": "uniform"}, 2, False),  # no machine
    ],
)
def test_reads_are_split_for_local_samplers_and_broadcast_for_the_qpu_path(
    settings, world_size, split
):
    assert distributed.reads_split(TrainSettings(**settings), world_size) is split


def test_split_reads_refuse_samples_the_processes_cannot_share():
    config = TrainSettings(bm_samples=1000, bm_reads="split")
    with pytest.raises(ConfigError, match=r"bm_samples \(1000\) divisible by the 3 processes"):
        distributed.reads_split(config, 3)
