"""Time per chain-sweep of `gibbs` against dwave-samplers' simulated annealing at fixed beta.

Both run the same number of sweeps on the same random machine with 1000 chains/reads at
beta = 1 (SA with beta_range = [1, 1]: constant-temperature Metropolis, or Gibbs acceptance),
in one process, best of `--repeats`. SA runs its reads on one thread; `gibbs` is shown with
both cores and with one, so it can be compared at equal resources too. The mean energy of the
returned samples shows that all sample the same distribution.

    python benchmarks/samplers.py   # prints a table, writes benchmarks/results/samplers.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numba
import torch
from dwave.samplers import SimulatedAnnealingSampler

from qaaan import samplers, topology
from qaaan.bm import random_machine

READS = 1000


def best_time(run, repeats: int) -> tuple[float, torch.Tensor]:
    best, spins = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        spins = run()
        best = min(best, time.perf_counter() - start)
    return best, spins


def gibbs_runner(bm, sweeps: int, backend: str):
    sampler = samplers.make("gibbs", sweeps=sweeps, burn_in=0, seed=0, backend=backend)
    sampler.sample(bm, READS)  # compile, start the chains
    return lambda: sampler.sample(bm, READS)


def sa_runner(bm, sweeps: int, criterion: str):
    sa = samplers.DimodSampler(
        SimulatedAnnealingSampler(),
        beta_range=[1.0, 1.0],
        num_sweeps=sweeps,
        proposal_acceptance_criteria=criterion,
        seed=0,
    )
    return lambda: sa.sample(bm, READS)


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=1000)
    parser.add_argument("--torch-sweeps", type=int, default=50, help="the torch kernel is slower")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/samplers.json")
    args = parser.parse_args()
    cores = numba.config.NUMBA_NUM_THREADS
    rows = []
    for name in ("chimera", "complete"):
        bm = random_machine(topology.make(name, 100), seed=0, h_scale=0.5, J_scale=0.3)
        contenders = [
            (
                f"gibbs numba, {cores} threads",
                gibbs_runner(bm, args.sweeps, "numba"),
                args.sweeps,
                cores,
            ),
            ("gibbs numba, 1 thread", gibbs_runner(bm, args.sweeps, "numba"), args.sweeps, 1),
            (
                "gibbs torch (CPU)",
                gibbs_runner(bm, args.torch_sweeps, "torch"),
                args.torch_sweeps,
                cores,
            ),
            (
                "SA dwave-samplers, Metropolis",
                sa_runner(bm, args.sweeps, "Metropolis"),
                args.sweeps,
                1,
            ),
            ("SA dwave-samplers, Gibbs", sa_runner(bm, args.sweeps, "Gibbs"), args.sweeps, 1),
        ]
        for label, run, sweeps, threads in contenders:
            numba.set_num_threads(threads)
            torch.set_num_threads(threads)
            seconds, spins = best_time(run, args.repeats)
            rows.append(
                {
                    "graph": f"{name}(100)",
                    "sampler": label,
                    "threads": threads,
                    "sweeps": sweeps,
                    "reads": READS,
                    "us_per_chain_sweep": seconds / (sweeps * READS) * 1e6,
                    "ns_per_spin_update": seconds / (sweeps * READS * 100) * 1e9,
                    "mean_energy": bm.energy(spins).mean().item(),
                }
            )
        numba.set_num_threads(cores)
        torch.set_num_threads(cores)
    print(
        f"{'graph':14} {'sampler':32} {'thr':>3} {'µs/chain-sweep':>15} {'ns/spin':>8} {'<E>':>9}"
    )
    for row in rows:
        print(
            f"{row['graph']:14} {row['sampler']:32} {row['threads']:>3} "
            f"{row['us_per_chain_sweep']:>15.4f} {row['ns_per_spin_update']:>8.2f} "
            f"{row['mean_energy']:>9.2f}"
        )
    machine = {
        "cpu": cpu_name(),
        "cores": cores,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numba": numba.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
