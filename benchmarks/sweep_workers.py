"""Seconds per training iteration of runs side by side, as `qaaan sweep --workers N` runs them.

N processes (spawned, as the sweep's workers) each train the same run at once. Each gets the
machine's cores divided by N as torch threads; numba's pool, which runs the gibbs and sqa
kernels, gets either as many (what `qaaan sweep` sets, `qaaan.sweep.thread_environment`) or one
thread per core (numba's default). Two runs: the device-temperature study's (latent 24, width
32, the emulated 2000Q whose device is drawn by gibbs) and the MNIST table's prior (latent 100,
width 64, gibbs), both on mnist-10k with batch 64. Reported: the median seconds per iteration
over the workers' timed iterations, after a warm-up.

    python benchmarks/sweep_workers.py   # prints a table, writes results/sweep_workers.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory
from unittest import mock

import torch
from samplers import cpu_name

from qaaan.sweep import thread_environment

RUNS = {
    "latent 24, mock-dwave": {
        "latent": 24, "width": 32, "sampler": "mock-dwave",
        "sampler_options": {"device_beta": 1.0},
    },
    "latent 100, gibbs": {"latent": 100, "width": 64, "sampler": "gibbs"},
}  # fmt: skip


def timed_run(settings: dict, out: str, warmup: int, steps: int) -> list[float]:
    """In a worker: seconds of each of `steps` iterations of a run, after `warmup`."""
    from qaaan.loop import Trainer
    from qaaan.settings import TrainSettings

    trainer = Trainer(TrainSettings(dataset="mnist-10k", device="cpu", out=out, **settings))
    times = []
    for step in range(warmup + steps):
        start = time.perf_counter()
        trainer.step()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return times


def side_by_side(settings: dict, workers: int, numba_threads: int, warmup: int, steps: int):
    """The iteration times of `workers` copies of a run at once."""
    torch_threads = max(1, (os.cpu_count() or 1) // workers)
    environment = thread_environment(torch_threads) | {"NUMBA_NUM_THREADS": str(numba_threads)}
    context = multiprocessing.get_context("spawn")
    with (
        TemporaryDirectory() as out,
        mock.patch.dict(os.environ, environment),
        ProcessPoolExecutor(workers, mp_context=context) as pool,
    ):
        jobs = [
            pool.submit(timed_run, settings, f"{out}/{worker}", warmup, steps)
            for worker in range(workers)
        ]
        return [seconds for job in jobs for seconds in job.result()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results/sweep_workers.json"
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    share = max(1, cores // args.workers)
    pools = {f"numba {share} (the sweep's share)": share, f"numba {cores} (one per core)": cores}
    rows = []
    print(f"{'run':24} {'numba threads':28} {'s/iteration':>12}")
    for run, settings in RUNS.items():
        for label, threads in pools.items():
            times = side_by_side(settings, args.workers, threads, args.warmup, args.steps)
            rows.append({"run": run, "numba_threads": threads, "seconds": statistics.median(times)})
            print(f"{run:24} {label:28} {rows[-1]['seconds']:>12.3f}")
    machine = {"cpu": cpu_name(), "cores": cores, "torch": torch.__version__}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"workers": args.workers, "warmup": args.warmup, "steps": args.steps}
    args.out.write_text(json.dumps({"machine": machine, **settings, "rows": rows}, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
