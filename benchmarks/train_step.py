"""Seconds per training iteration: the `bm` prior against the `uniform` prior, in one run.

Same networks (28x28, width 64, the refined generator), batch (64) and data (mnist-10k) for the
first three rows; the `bm` prior
draws 1000 model samples per iteration from a 100-node Chimera machine (as the paper), with
`gibbs` (1 sweep per iteration, persistent chains) and with `sqa` (defaults: 4 slices, 64
sweeps per anneal, fresh anneal each iteration). The contenders take turns (10 iterations each,
10 rounds, after a warm-up); reported are the median seconds per iteration and the ratio to the
uniform prior with the same generator (targets: 1.15 for gibbs, 1.5 for sqa). The last row is
the uniform prior with the paper's generator (`refine=False`): what the refinement layers cost.

    python benchmarks/train_step.py   # prints a table, writes benchmarks/results/train_step.json

`--table quantum` times instead the priors of the quantum-latent MNIST table at its settings
(latent 24, width 32, mnist-10k; the variants of `experiments/quantum24.toml`): uniform, gibbs,
the quantum Boltzmann machine (sqa at Gamma 0.5, persistent chains) and the 12-qubit circuit
Born machine (writes benchmarks/results/train_step_quantum.json).

`--table speed` times the speed settings of `time_to_quality.py` at the MNIST table's
settings with the gibbs prior: bfloat16 autocast, channels-last, torch.compile, a larger batch
(writes benchmarks/results/train_step_speed.json; the ratio is to today's settings).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import torch
from samplers import cpu_name
from time_to_quality import CONTENDERS, PRIORS, TABLE

from qaaan.loop import Trainer
from qaaan.settings import TrainSettings, read_file

QUANTUM_SPEC = Path(__file__).parents[1] / "experiments" / "quantum24.toml"
TABLES = {
    "paper": {
        "common": {"width": 64},
        "contenders": {
            "uniform": {"prior": "uniform"},
            "bm, gibbs": {"prior": "bm", "sampler": "gibbs"},
            "bm, sqa": {"prior": "bm", "sampler": "sqa"},
            "uniform, paper's generator": {"prior": "uniform", "refine": False},
        },
    },
    "quantum": {
        "common": {"width": 32, "latent": 24},
        "contenders": read_file(QUANTUM_SPEC)["variants"],
    },
    "speed": {
        "common": {**TABLE, **PRIORS["gibbs"]},
        "contenders": CONTENDERS,
    },
}


def timed_steps(trainer: Trainer, steps: int) -> tuple[list[float], list[float]]:
    """Seconds of `steps` iterations and the share of each spent sampling."""
    times, shares = [], []
    for _ in range(steps):
        start = time.perf_counter()
        stats = trainer.step()
        trainer.iteration += 1
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        shares.append(stats["sampling_seconds"] / elapsed)
    return times, shares


def measure(
    table: str, warmup: int, rounds: int, steps: int, overrides: dict | None = None
) -> dict[str, tuple[float, float]]:
    """Median seconds per iteration and sampling share of every contender, each with the
    settings `overrides` (such as the device) last.

    The contenders take turns, `steps` iterations each per round, so that a change in the
    machine's load during the run (it is shared) falls on all of them alike.
    """
    with TemporaryDirectory() as out:
        common = {"dataset": "mnist-10k", "batch_size": 64, "device": "cpu"}
        common |= TABLES[table]["common"]
        trainers = {
            label: Trainer(
                TrainSettings(**(common | settings | (overrides or {})), out=f"{out}/{index}")
            )
            for index, (label, settings) in enumerate(TABLES[table]["contenders"].items())
        }
        for trainer in trainers.values():
            timed_steps(trainer, warmup)
        times = {label: ([], []) for label in trainers}
        for _ in range(rounds):
            for label, trainer in trainers.items():
                seconds, shares = timed_steps(trainer, steps)
                times[label][0].extend(seconds)
                times[label][1].extend(shares)
    return {label: (statistics.median(t), statistics.median(s)) for label, (t, s) in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10, help="iterations per turn")
    parser.add_argument("--table", choices=list(TABLES), default="paper")
    parser.add_argument("--out", type=Path, help="default: results/train_step[_TABLE].json")
    args = parser.parse_args()
    suffix = "" if args.table == "paper" else f"_{args.table}"
    out = args.out or Path(__file__).parent / f"results/train_step{suffix}.json"
    measured = measure(args.table, args.warmup, args.rounds, args.steps)
    rows = [
        {"contender": label, "seconds_per_iteration": seconds, "sampling_share": share}
        for label, (seconds, share) in measured.items()
    ]
    baseline = rows[0]["seconds_per_iteration"]
    print(f"{'contender':26} {'s/iteration':>12} {'ratio':>6} {'sampling share':>15}")
    for row in rows:
        row["ratio_to_first_row"] = row["seconds_per_iteration"] / baseline
        print(
            f"{row['contender']:26} {row['seconds_per_iteration']:>12.4f} "
            f"{row['ratio_to_first_row']:>6.2f} {row['sampling_share']:>15.1%}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__}
    out.write_text(json.dumps({"machine": machine, "table": args.table, "rows": rows}, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
