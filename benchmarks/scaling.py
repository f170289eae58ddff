"""How the cost grows: sampler time against machine size, iteration time against batch and latent.

Part `samplers`: one call of 1000 reads on random machines (`qaaan.bm.random_machine`) of 36,
100, 512 and 2048 spins on Chimera (2048 is the full C16 lattice of a D-Wave 2000Q) and of 36,
100 and 512 spins on the complete graph; `gibbs` (100 sweeps at beta = 1 from persistent
chains), `sqa` (its defaults: 4 Trotter slices, 64 sweeps of a linear anneal) and dwave-samplers
SA (100 sweeps at beta_range = [1, 1], one thread). The machines have h ~ 0.5 and J ~ 0.3 (as in
`samplers.py`), the complete ones J shrunk by sqrt(6 / (N - 1)) so that local fields are as
large as on Chimera (degree 6): SA's Metropolis cost depends on how often it accepts. Best of
`--repeats`; also per spin update (seconds / (reads x sweeps x slices x spins)), which is flat
when the cost is linear in the spins and rises with the degree.

Part `training`: median seconds per iteration (after a warm-up) of `qaaan train` with the `bm`
prior (Chimera latent graph, `gibbs`, 1000 model samples) on mnist-10k, width-64 nets: against
the batch size at latent 100, and against the latent size at batch 64.

    python benchmarks/scaling.py   # prints tables, writes benchmarks/results/scaling.json
                                   # and docs/figures/scaling.png
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path
from tempfile import TemporaryDirectory

import numba
import torch
from matplotlib.figure import Figure
from samplers import READS, best_time, cpu_name, gibbs_runner, sa_runner
from train_step import timed_steps

from qaaan import samplers, topology
from qaaan.bm import random_machine
from qaaan.loop import Trainer
from qaaan.settings import TrainSettings

SIZES = {"chimera": (36, 100, 512, 2048), "complete": (36, 100, 512)}
SWEEPS = 100
SQA = {"trotter": 4, "sweeps": 64}


def sqa_runner(bm):
    sampler = samplers.make("sqa", seed=0)
    return lambda: sampler.sample(bm, READS)


def sampler_rows(repeats: int) -> list[dict]:
    rows = []
    for family, sizes in SIZES.items():
        for size in sizes:
            bm = random_machine(topology.make(family, size), seed=0, h_scale=0.5, J_scale=0.3)
            if family == "complete":  # couplings shrunk so that the fields are as on Chimera
                bm.J.data *= (6 / (size - 1)) ** 0.5
            runners = {
                "gibbs": (gibbs_runner(bm, SWEEPS, "auto"), SWEEPS, 1),
                "sqa": (sqa_runner(bm), SQA["sweeps"], SQA["trotter"]),
                "sa": (sa_runner(bm, SWEEPS, "Metropolis"), SWEEPS, 1),
            }
            for name, (run, sweeps, slices) in runners.items():
                seconds, _ = best_time(run, repeats if size <= 512 else 1)
                updates = READS * sweeps * slices * size
                rows.append(
                    {
                        "graph": family, "spins": size, "edges": bm.edges.shape[0],
                        "sampler": name, "seconds": seconds,
                        "ns_per_spin_update": 1e9 * seconds / updates,
                    }
                )  # fmt: skip
                print(f"{family:9} {size:5} {name:6} {seconds:9.4f} s", flush=True)
    return rows


def iteration_seconds(out: str, warmup: int, steps: int, **settings) -> float:
    config = TrainSettings(dataset="mnist-10k", width=64, device="cpu", out=out, **settings)
    trainer = Trainer(config)
    timed_steps(trainer, warmup)
    return statistics.median(timed_steps(trainer, steps)[0])


def training_rows(warmup: int, steps: int) -> list[dict]:
    cases = [("batch", b, {"batch_size": b, "latent": 100}) for b in (16, 64, 256)]
    cases += [("latent", n, {"batch_size": 64, "latent": n}) for n in (36, 100, 512, 2048)]
    rows = []
    with TemporaryDirectory() as out:
        for index, (varied, value, settings) in enumerate(cases):
            seconds = iteration_seconds(f"{out}/{index}", warmup, steps, **settings)
            rows.append({"varied": varied, "value": value, **settings, "seconds": seconds})
            print(f"{varied:7} {value:5} {seconds:8.4f} s/iteration", flush=True)
    return rows


def plot(sampler_data: list[dict], training_data: list[dict], path: Path) -> None:
    figure = Figure(figsize=(11, 3.6))
    left, middle, right = figure.subplots(1, 3)
    for (family, name), style in zip(
        [(f, s) for f in SIZES for s in ("gibbs", "sqa", "sa")],
        ["o-", "s-", "^-", "o--", "s--", "^--"],
        strict=True,
    ):
        rows = [r for r in sampler_data if r["graph"] == family and r["sampler"] == name]
        sizes, seconds = [r["spins"] for r in rows], [r["seconds"] for r in rows]
        left.loglog(sizes, seconds, style, label=f"{name}, {family}")
    left.set(xlabel="spins", ylabel="seconds per call (1000 reads)", title="sampler time")
    left.legend(fontsize=7)
    for axis, varied, label in ((middle, "batch", "batch size"), (right, "latent", "latent size")):
        rows = [r for r in training_data if r["varied"] == varied]
        values = [r["value"] for r in rows]
        axis.loglog(values, [r["seconds"] for r in rows], "o-")
        axis.set_xticks(values, [str(v) for v in values], minor=False)
        axis.minorticks_off()
        axis.set(xlabel=label, ylabel="seconds per iteration", title=f"training vs {label}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/scaling.json")
    parser.add_argument(
        "--figure", type=Path, default=Path(__file__).parents[1] / "docs/figures/scaling.png"
    )
    args = parser.parse_args()
    sampler_data = sampler_rows(args.repeats)
    training_data = training_rows(args.warmup, args.steps)
    plot(sampler_data, training_data, args.figure)
    machine = {
        "cpu": cpu_name(),
        "cores": numba.config.NUMBA_NUM_THREADS,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine, "samplers": sampler_data, "training": training_data}
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
