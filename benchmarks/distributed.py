"""Data-parallel training on one machine: 1 process against 2 (gloo), and broadcast against split.

Rows: median seconds per iteration of `qaaan train` (mnist-10k, width-64 nets, bm prior on a
100-node Chimera machine, 1000 model samples) with a global batch of 64: one process with both
cores, and two processes (torch's gloo backend, one core each, batch 32 each) with the machine's
reads broadcast from rank 0 and with them split across the ranks (500 each, all-gathered), for
`gibbs` and `sqa`. Also: the times of the broadcast and the all-gather alone, and what splitting
can save at most, the time of drawing 1000 reads minus 500 on one core.

    python benchmarks/distributed.py   # prints a table, writes benchmarks/results/distributed.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numba
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from samplers import best_time, cpu_name
from train_step import timed_steps

from qaaan import distributed, samplers, topology
from qaaan.bm import random_machine
from qaaan.loop import Trainer
from qaaan.settings import TrainSettings

GLOBAL_BATCH = 64


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _collective_seconds(operation, repeats: int = 50) -> float:
    times = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        operation()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _rank(rank: int, world: int, port: int, sampler: str, reads: str, steps: int, out: str):
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank)
    )
    threads = max(1, os.cpu_count() // world)
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    config = TrainSettings(
        dataset="mnist-10k", width=64, device="cpu", sampler=sampler, bm_reads=reads,
        batch_size=GLOBAL_BATCH // world, out=f"{out}/run-{sampler}-{world}-{reads}",
    )  # fmt: skip
    trainer = Trainer(config)
    timed_steps(trainer, 3)
    times, shares = timed_steps(trainer, steps)
    result = {"seconds": statistics.median(times), "sampling_share": statistics.median(shares)}
    if world > 1:
        spins = torch.ones(1000, 100)
        halves = [torch.ones(500, 100) for _ in range(world)]
        result["broadcast_ms"] = 1e3 * _collective_seconds(lambda: dist.broadcast(spins, 0))
        result["all_gather_ms"] = 1e3 * _collective_seconds(
            lambda: dist.all_gather(halves, halves[rank])
        )
    if rank == 0:
        Path(f"{out}/{sampler}-{world}-{reads}.json").write_text(json.dumps(result))
    distributed.stop(trainer.world)


def split_saving_ms(sampler: str) -> float:
    """On one core: drawing 1000 reads minus drawing 500 (what splitting over 2 ranks saves)."""
    numba.set_num_threads(1)
    bm = random_machine(topology.make("chimera", 100), seed=0, h_scale=0.5, J_scale=0.3)
    seconds = {}
    for reads in (1000, 500):
        drawer = samplers.make(sampler, seed=0)
        drawer.sample(bm, reads)
        seconds[reads], _ = best_time(lambda d=drawer, r=reads: d.sample(bm, r), 5)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return 1e3 * (seconds[1000] - seconds[500])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results/distributed.json"
    )
    args = parser.parse_args()
    rows = []
    with TemporaryDirectory() as out:
        for sampler in ("gibbs", "sqa"):
            row = {"sampler": sampler, "split_would_save_ms": split_saving_ms(sampler)}
            for world, reads in ((1, "broadcast"), (2, "broadcast"), (2, "split")):
                spawned = (world, _free_port(), sampler, reads, args.steps, out)
                mp.spawn(_rank, args=spawned, nprocs=world)
                measured = json.loads(Path(f"{out}/{sampler}-{world}-{reads}.json").read_text())
                row[f"seconds_{world}_{reads}"] = measured["seconds"]
                row[f"sampling_share_{world}_{reads}"] = measured["sampling_share"]
                row.update({k: v for k, v in measured.items() if k.endswith("_ms")})
            rows.append(row)
    print(f"{'sampler':8} {'1 proc':>8} {'2 broadcast':>11} {'2 split':>8}", end="")
    print(f" {'broadcast ms':>12} {'all-gather ms':>13} {'split saves <= ms':>17}")
    for r in rows:
        print(
            f"{r['sampler']:8} {r['seconds_1_broadcast']:8.4f} {r['seconds_2_broadcast']:11.4f} "
            f"{r['seconds_2_split']:8.4f} {r['broadcast_ms']:12.3f} {r['all_gather_ms']:13.3f} "
            f"{r['split_would_save_ms']:17.3f}"
        )
    machine = {"cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
