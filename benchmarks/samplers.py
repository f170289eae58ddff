"""Sampler speed against peers, in one run: `gibbs` vs dwave-samplers SA, `sqa` vs OpenJij.

Part `gibbs`: time per chain-sweep of `gibbs` against dwave-samplers' simulated annealing at
fixed beta.

Both run the same number of sweeps on the same random machine with 1000 chains/reads at
beta = 1 (SA with beta_range = [1, 1]: constant-temperature Metropolis, or Gibbs acceptance),
in one process, best of `--repeats`. SA runs its reads on one thread; `gibbs` is shown with
both cores and with one, so it can be compared at equal resources too. The mean energy of the
returned samples shows that all sample the same distribution.

Part `sqa`: our simulated quantum annealing against OpenJij's SQASampler with the same reads
(1000), Trotter slices (4, 16), sweeps (1000), beta = 1, Gamma0 = 1 and the same linear schedule
(given to OpenJij explicitly, one Monte Carlo step per s value; its default is quartic), on the
same machines. OpenJij returns the lowest-energy slice, so ours is shown with
return_slices='lowest' as well as 'random'. OpenJij is not seeded (a seed makes all its reads
identical) and runs once (it takes tens of seconds); ours is the best of `--repeats`. For OpenJij
both its dense and sparse modes were tried and the faster is used. dwave-samplers'
PathIntegralAnnealingSampler (continuous-time path integrals: no Trotter slices) runs the same
sweeps with the same schedule as custom fields, on `--pimc-reads` reads (default 100: it takes
about a second per read on complete(100)); its cost per chain-sweep is compared.

    python benchmarks/samplers.py   # prints a table, writes benchmarks/results/samplers.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import time
from pathlib import Path

import numba
import numpy as np
import openjij
import torch
from dwave.samplers import PathIntegralAnnealingSampler

from qaaan import samplers, topology
from qaaan.bm import random_machine
from qaaan.samplers.dimod_backed import sampleset_to_spins

READS = 1000
BETA, GAMMA = 1.0, 1.0  # the sqa part's inverse temperature and transverse field at s = 0


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
    sa = samplers.make(
        "sa",
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


def gibbs_rows(args: argparse.Namespace, cores: int) -> list[dict]:
    rows = []
    for name in ("chimera", "complete"):
        bm = random_machine(topology.make(name, 100), seed=0, h_scale=0.5, J_scale=0.3)
        contenders = [
            (f"gibbs numba, {cores} threads", "numba", args.sweeps, cores),
            ("gibbs numba, 1 thread", "numba", args.sweeps, 1),
            ("gibbs torch (CPU)", "torch", args.torch_sweeps, cores),
            ("SA dwave-samplers, Metropolis", "Metropolis", args.sweeps, 1),
            ("SA dwave-samplers, Gibbs", "Gibbs", args.sweeps, 1),
        ]
        for label, kind, sweeps, threads in contenders:
            numba.set_num_threads(threads)
            torch.set_num_threads(threads)
            if kind in ("numba", "torch"):
                run = gibbs_runner(bm, sweeps, kind)
            else:
                run = sa_runner(bm, sweeps, kind)
            seconds, spins = best_time(run, args.repeats)
            rows.append(row("gibbs", name, label, threads, sweeps, 1, seconds, bm, spins))
        numba.set_num_threads(cores)
        torch.set_num_threads(cores)
    return rows


def openjij_runner(bm, sweeps: int, trotter: int):
    """OpenJij's SQA with our linear schedule, in its faster mode (dense or sparse) for `bm`."""
    schedule = [((n + 1) / sweeps, 1) for n in range(sweeps)]
    sampler = openjij.SQASampler()
    bqm = bm.to_bqm()

    def run(sparse: bool, reads: int):
        return lambda: sampler.sample(
            bqm, beta=BETA, gamma=GAMMA, trotter=trotter, schedule=schedule,
            num_reads=reads, sparse=sparse,
        )  # fmt: skip

    probe = {sparse: best_time(run(sparse, 20), 1)[0] for sparse in (False, True)}
    sparse = min(probe, key=probe.get)
    whole = run(sparse, READS)
    return lambda: torch.as_tensor(
        sampleset_to_spins(whole(), list(range(bm.num_nodes))), dtype=torch.float32
    )


def path_integral_runner(bm, sweeps: int, reads: int):
    """dwave-samplers' continuous-time path-integral annealing with our schedule: at sweep n the
    problem field beta s and the transverse field beta Gamma0 (1 - s), s = (n + 1) / sweeps."""
    s = np.arange(1, sweeps + 1) / sweeps
    bqm = bm.to_bqm()
    sampler = PathIntegralAnnealingSampler()
    return lambda: torch.as_tensor(
        sampleset_to_spins(
            sampler.sample(
                bqm, num_reads=reads, beta_schedule_type="custom", Hp_field=BETA * s,
                Hd_field=BETA * GAMMA * (1 - s), num_sweeps_per_beta=1, seed=0,
            ),
            list(range(bm.num_nodes)),
        ),
        dtype=torch.float32,
    )  # fmt: skip


def sqa_rows(args: argparse.Namespace, cores: int) -> list[dict]:
    rows = []
    for name in ("chimera", "complete"):
        bm = random_machine(topology.make(name, 100), seed=0, h_scale=0.5, J_scale=0.3)
        for trotter in (4, 16):
            for returned, threads in (("random", cores), ("lowest", cores), ("lowest", 1)):
                numba.set_num_threads(threads)
                sqa = samplers.make(
                    "sqa", beta=BETA, gamma=GAMMA, trotter=trotter, sweeps=args.sqa_sweeps,
                    seed=0, return_slices=returned,
                )  # fmt: skip
                sqa.sample(bm, 8)  # compile
                seconds, spins = best_time(lambda s=sqa, m=bm: s.sample(m, READS), args.repeats)
                label = f"sqa (ours), {returned} slice"
                sweeps = args.sqa_sweeps
                rows.append(row("sqa", name, label, threads, sweeps, trotter, seconds, bm, spins))
            numba.set_num_threads(cores)
            seconds, spins = best_time(openjij_runner(bm, args.sqa_sweeps, trotter), 1)
            label = "OpenJij SQASampler (lowest slice)"
            rows.append(row("sqa", name, label, 1, args.sqa_sweeps, trotter, seconds, bm, spins))
        runner = path_integral_runner(bm, args.sqa_sweeps, args.pimc_reads)
        seconds, spins = best_time(runner, 1)
        label = "dwave-samplers PathIntegralAnnealing"
        rows.append(
            row("sqa", name, label, 1, args.sqa_sweeps, 1, seconds, bm, spins, args.pimc_reads)
        )
    return rows


def row(part, graph, label, threads, sweeps, slices, seconds, bm, spins, reads=READS) -> dict:
    updates = sweeps * reads * slices * bm.num_nodes
    return {
        "part": part,
        "graph": f"{graph}(100)",
        "sampler": label,
        "threads": threads,
        "sweeps": sweeps,
        "trotter": slices,
        "reads": reads,
        "seconds": seconds,
        "us_per_chain_sweep": seconds / (sweeps * reads) * 1e6,
        "ns_per_spin_update": seconds / updates * 1e9,
        "mean_energy": bm.energy(spins).mean().item(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["gibbs", "sqa", "all"], default="all")
    parser.add_argument("--sweeps", type=int, default=1000)
    parser.add_argument("--torch-sweeps", type=int, default=50, help="the torch kernel is slower")
    parser.add_argument("--sqa-sweeps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--pimc-reads", type=int, default=100, help="reads of the path-integral peer (slow)"
    )
    parser.add_argument("--out", type=Path, help="default: results/samplers[_PART].json")
    args = parser.parse_args()
    suffix = "" if args.part == "all" else f"_{args.part}"
    args.out = args.out or Path(__file__).parent / f"results/samplers{suffix}.json"
    cores = numba.config.NUMBA_NUM_THREADS
    rows = []
    if args.part in ("gibbs", "all"):
        rows += gibbs_rows(args, cores)
    if args.part in ("sqa", "all"):
        rows += sqa_rows(args, cores)
    header = f"{'graph':14} {'sampler':36} {'thr':>3} {'P':>3} {'s':>8} {'µs/chain-sweep':>15}"
    print(header + f" {'ns/spin':>8} {'<E>':>9}")
    for r in rows:
        print(
            f"{r['graph']:14} {r['sampler']:36} {r['threads']:>3} {r['trotter']:>3} "
            f"{r['seconds']:>8.3f} {r['us_per_chain_sweep']:>15.4f} "
            f"{r['ns_per_spin_update']:>8.2f} {r['mean_energy']:>9.2f}"
        )
    machine = {
        "cpu": cpu_name(),
        "cores": cores,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numba": numba.__version__,
        "openjij": importlib.metadata.version("openjij"),
        "dwave-samplers": importlib.metadata.version("dwave-samplers"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
