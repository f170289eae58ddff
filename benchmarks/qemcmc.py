"""Quantum-enhanced MCMC against classical Metropolis proposals, as Layden et al.'s Fig. 2.

Random fully connected Ising models with h_i ~ N(0, 1) and J_ij ~ N(0, 1) at beta = 1, sizes
`--sizes` (n = 6..9 by default), `--instances` seeded instances per size. Three Metropolis
chains of the Boltzmann distribution pi(s) ∝ exp(-E(s)), equal in all but the proposal:

- quantum: the `qemcmc` proposal, the z-measurement of exp(-i H' t)|s> with H' = (1 - g) a E +
  g sum X, g ~ U[0.25, 0.6], t ~ U[2, 20], Qiskit's symmetric product formula with steps of at
  most 0.8 (`qaaan.quantum.evolution.evolve`);
- local: flip one uniformly chosen spin;
- uniform: a uniformly random state.

Measured per instance and chain:

1. The spectral gap delta = 1 - max(|lambda_2|, |lambda_min|) of the exact 2^n x 2^n transition
   matrix P, from the eigenvalues (`scipy.linalg.eigvalsh`) of D^1/2 P D^-1/2, D = diag(pi).
   The quantum chain's P is the Metropolis kernel of the proposal |U_s's|^2 averaged over
   (g, t); the average is estimated from `--draws` seeded random (g, t) draws, not integrated.
   pi P = pi is asserted to 1e-9 for every chain.
2. The integrated autocorrelation time of the energy, tau = 1 + 2 sum_t rho(t) (1 for
   independent draws): `--chains` chains started from exact draws of pi, `--steps` steps
   (`--quantum-steps` for the quantum chain if given; it is the `qemcmc` sampler itself, `exact`
   backend, its chains set to the start states before its first call, one step per call; it
   draws one (g, t) per step shared by all chains). The autocovariance about the exact mean
   <E>_pi is computed by FFT, averaged over the chains, and summed up to Sokal's automatic
   window (c = 5); an estimate counts as reliable when the chain is at least 50 tau long.
   Beside it, tau of the energy under P itself (exact, from the fundamental matrix of P; for
   the quantum chain its K-draw estimate), which the chains' estimate should approach.
3. Wall time per chain step, per move (a step that changed the state) and per effective sample
   (tau steps). The classical chains are this script's vectorised numpy loops over a table of
   the 2^n energies; the quantum one is the `qemcmc` sampler (`exact` backend: torch). One step
   of the Qiskit `statevector` primitive backend is timed at n = `--statevector-size` for scale.

The exponents k of log2(delta) ~ c - k n (least squares over the sizes, delta the mean over
instances) are printed beside Layden's for exact evolution (quantum 0.264, local 0.749,
uniform 0.893; n up to 20 and many more instances, so small sizes are only indicative).
The quantum P costs one product-formula evolution of all 2^n basis states per draw: about 2 s at
n = 10, 18 s at n = 11 and 85 s at n = 12 on one loaded core, so the larger sizes are a second
run with fewer instances and draws, whose exponents are fitted together with the first run's
sizes by `--fit-with`:

    python benchmarks/qemcmc.py   # prints a table, writes benchmarks/results/qemcmc.json
    python benchmarks/qemcmc.py --sizes 10 11 12 --instances 3 --draws 8 \
        --fit-with benchmarks/results/qemcmc.json --out benchmarks/results/qemcmc_large.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from samplers import cpu_name

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine
from qaaan.quantum import evolution

METHODS = ("quantum", "local", "uniform")
LAYDEN_EXPONENTS = {"quantum": 0.264, "local": 0.749, "uniform": 0.893}
MIXING = (0.25, 0.6)
TIME = (2.0, 20.0)
TIME_STEP = 0.8
SOKAL_WINDOW = 5.0
RELIABLE_LENGTH = 50.0  # chain length in units of tau above which an estimate is trusted


@dataclass
class ChainRun:
    """Energies of every chain at every step, and what the steps cost and did."""

    energies: np.ndarray  # (chains, steps + 1), the start included
    seconds: float
    acceptance: float  # share of proposals accepted (a proposal of the current state included)
    moved: float  # share of steps that changed the state


def gaussian_machine(num_nodes: int, seed: int) -> BoltzmannMachine:
    """A complete-graph machine with h_i ~ N(0, 1) and J_ij ~ N(0, 1)."""
    machine = BoltzmannMachine(topology.complete(num_nodes), seed=0)
    generator = np.random.default_rng(seed)
    h = generator.normal(size=num_nodes)
    J = generator.normal(size=machine.edges.shape[0])
    return machine.set_parameters(torch.as_tensor(h), torch.as_tensor(J))


def boltzmann_distribution(energies: np.ndarray, beta: float) -> np.ndarray:
    """pi(s) ∝ exp(-beta E(s)) over the basis states."""
    weights = np.exp(-beta * (energies - energies.min()))
    return weights / weights.sum()


def local_proposal(num_nodes: int) -> np.ndarray:
    """Q[s, s'] of flipping one uniformly chosen spin."""
    states = np.arange(2**num_nodes)
    proposal = np.zeros((len(states), len(states)))
    for spin in range(num_nodes):
        proposal[states, states ^ (1 << spin)] = 1.0 / num_nodes
    return proposal


def uniform_proposal(num_nodes: int) -> np.ndarray:
    """Q[s, s'] of drawing a uniformly random state."""
    return np.full((2**num_nodes, 2**num_nodes), 2.0**-num_nodes)


def quantum_proposal(bm: BoltzmannMachine, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Q[s, s'] = |<s'|U|s>|^2 averaged over `draws` random (g, t), U the product formula."""
    energies = evolution.basis_energies(bm)
    columns = torch.arange(len(energies))
    average = np.zeros((len(energies), len(energies)))
    for _ in range(draws):
        mixing, duration = rng.uniform(*MIXING), rng.uniform(*TIME)
        scale = (1.0 - mixing) * evolution.normalisation(bm)
        unitary = evolution.evolve(energies, columns, mixing, scale, duration, TIME_STEP)
        average += unitary.abs().square().T.numpy()
    average /= draws
    asymmetry = np.abs(average - average.T).max()
    assert asymmetry < 1e-10, f"the quantum proposal is not symmetric ({asymmetry:.1e})"
    return average


def metropolis_kernel(proposal: np.ndarray, energies: np.ndarray, beta: float) -> np.ndarray:
    """P[s, s'] of the Metropolis chain with a symmetric proposal Q[s, s']."""
    rise = np.maximum(energies[None, :] - energies[:, None], 0.0)
    kernel = proposal * np.exp(-beta * rise)
    np.fill_diagonal(kernel, 0.0)
    np.fill_diagonal(kernel, 1.0 - kernel.sum(axis=1))
    return kernel


def spectral_gap(kernel: np.ndarray, pi: np.ndarray) -> float:
    """1 - max(|lambda_2|, |lambda_min|) of a chain reversible with respect to pi, from the
    symmetric D^1/2 P D^-1/2; asserts pi P = pi first."""
    stationarity = np.abs(pi @ kernel - pi).max()
    assert stationarity < 1e-9, f"pi P != pi ({stationarity:.1e})"
    root = np.sqrt(pi)
    symmetric = root[:, None] * kernel / root[None, :]
    eigenvalues = scipy.linalg.eigvalsh((symmetric + symmetric.T) / 2)
    assert abs(eigenvalues[-1] - 1.0) < 1e-9, f"top eigenvalue {eigenvalues[-1]!r}"
    return 1.0 - max(abs(eigenvalues[-2]), abs(eigenvalues[0]))


def stationary_move_rate(kernel: np.ndarray, pi: np.ndarray) -> float:
    """The share of steps that change the state, for a chain in equilibrium."""
    return float(pi @ (1.0 - np.diag(kernel)))


def exact_autocorrelation_time(kernel: np.ndarray, pi: np.ndarray, energies: np.ndarray) -> float:
    """tau = 1 + 2 sum_{t>=1} rho(t) of the energy of the chain P in equilibrium, from the
    fundamental matrix: sum_{t>=0} (P^t - 1 pi) f = (I - P + 1 pi)^-1 f for f with pi f = 0."""
    centred = energies - pi @ energies
    variance = pi @ centred**2
    fundamental = np.eye(len(pi)) - kernel + pi[None, :]
    summed = np.linalg.solve(fundamental, centred)
    return float(2.0 * (pi @ (centred * summed)) / variance - 1.0)


def integrated_autocorrelation_time(series: np.ndarray, mean: float) -> tuple[float, int]:
    """tau = 1 + 2 sum_{t=1}^{M} rho(t) of `series` (chains, length), with rho the
    autocovariance about `mean` (FFT, averaged over the chains) over its value at lag 0, and M
    Sokal's window: the smallest M >= c tau(M), c = 5 (the last lag if none). Returns tau, M."""
    length = series.shape[1]
    size = 1 << (2 * length - 1).bit_length()
    spectrum = np.fft.rfft(series - mean, n=size, axis=1)
    autocovariance = np.fft.irfft(np.abs(spectrum) ** 2, n=size, axis=1)[:, :length]
    autocovariance = autocovariance.mean(axis=0)
    if autocovariance[0] <= 0:
        return float("nan"), 0
    running = 2.0 * np.cumsum(autocovariance / autocovariance[0]) - 1.0
    inside = np.arange(length) < SOKAL_WINDOW * running
    window = int(np.argmin(inside)) if not inside.all() else length - 1
    return float(running[window]), window


def run_classical(
    method: str,
    energies: np.ndarray,
    beta: float,
    starts: np.ndarray,
    steps: int,
    rng: np.random.Generator,
) -> ChainRun:
    """Metropolis chains over basis indices with the `local` or `uniform` proposal."""
    num_states, chains = len(energies), len(starts)
    num_nodes = num_states.bit_length() - 1
    state = starts.copy()
    trace = np.empty((chains, steps + 1))
    trace[:, 0] = energies[state]
    accepted = moved = 0
    start = time.perf_counter()
    for step in range(steps):
        if method == "local":
            proposed = state ^ (1 << rng.integers(0, num_nodes, chains))
        else:
            proposed = rng.integers(0, num_states, chains)
        rise = np.maximum(energies[proposed] - energies[state], 0.0)
        accept = rng.random(chains) < np.exp(-beta * rise)
        accepted += int(accept.sum())
        moved += int((accept & (proposed != state)).sum())
        state = np.where(accept, proposed, state)
        trace[:, step + 1] = energies[state]
    seconds = time.perf_counter() - start
    total = steps * chains
    return ChainRun(trace, seconds, accepted / total, moved / total)


def quantum_sampler(backend: str, beta: float, seed: int, starts: torch.Tensor):
    """A one-step-per-call `qemcmc` sampler whose chains begin at the spins `starts`."""
    sampler = samplers.make(
        "qemcmc", backend=backend, beta=beta, seed=seed, burn_in=0, steps=1,
        mixing=list(MIXING), time=list(TIME), time_step=TIME_STEP,
    )  # fmt: skip
    sampler.spins = starts.float()
    return sampler


def run_quantum(
    bm: BoltzmannMachine, energies: np.ndarray, beta: float, starts: np.ndarray, steps: int, seed
) -> ChainRun:
    """The `qemcmc` sampler (exact backend) from the basis states `starts`, one step per call."""
    spins = evolution.basis_spins(bm.num_nodes)
    sampler = quantum_sampler("exact", beta, seed, spins[torch.as_tensor(starts)])
    chains = len(starts)
    state = starts.copy()
    trace = np.empty((chains, steps + 1))
    trace[:, 0] = energies[state]
    seconds = accepted = moved = 0.0
    for step in range(steps):
        start = time.perf_counter()
        sample = sampler.sample(bm, chains)
        seconds += time.perf_counter() - start
        new_state = evolution.basis_index(sample).numpy()
        accepted += sampler.info["acceptance"]
        moved += float((new_state != state).mean())
        state = new_state
        trace[:, step + 1] = energies[state]
    return ChainRun(trace, seconds, accepted / steps, moved / steps)


def statevector_step_seconds(num_nodes: int, chains: int, seed: int, repeats: int) -> dict:
    """Median seconds of one `qemcmc` step of `chains` chains with the Qiskit statevector
    primitive, and with the exact backend, on a Gaussian machine of `num_nodes` spins."""
    bm = gaussian_machine(num_nodes, seed)
    rng = np.random.default_rng(seed)
    starts = evolution.basis_spins(num_nodes)[rng.integers(0, 2**num_nodes, chains)]
    result = {"n": num_nodes, "chains": chains, "repeats": repeats}
    for backend in ("statevector", "exact"):
        sampler = quantum_sampler(backend, 1.0, seed, starts)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            sampler.sample(bm, chains)
            times.append(time.perf_counter() - start)
        result[f"{backend}_seconds_per_step"] = statistics.median(times)
    result["ratio"] = result["statevector_seconds_per_step"] / result["exact_seconds_per_step"]
    return result


def chain_figures(run: ChainRun, mean: float, chains: int) -> dict:
    """tau, its window and reliability, acceptance and the wall time of a chain run."""
    steps = run.energies.shape[1] - 1
    tau, window = integrated_autocorrelation_time(run.energies, mean)
    per_step = run.seconds / (steps * chains) * 1e6
    return {
        "steps": steps,
        "tau_int": tau,
        "window": window,
        "reliable": bool(steps >= RELIABLE_LENGTH * tau),
        "acceptance": run.acceptance,
        "moved": run.moved,
        "seconds": run.seconds,
        "us_per_step": per_step,
        "us_per_move": per_step / run.moved if run.moved else float("inf"),
        "us_per_effective_sample": per_step * tau,
    }


def measure_instance(args: argparse.Namespace, num_nodes: int, instance: int) -> list[dict]:
    """Every figure of the three chains on one random machine."""
    seed = args.seed * 1_000_003 + num_nodes * 1_000 + instance
    bm = gaussian_machine(num_nodes, seed)
    energies = evolution.basis_energies(bm).numpy()
    pi = boltzmann_distribution(energies, args.beta)
    mean_energy = float(pi @ energies)
    rng = np.random.default_rng([seed, 1])
    starts = rng.choice(len(energies), size=args.chains, p=pi)
    proposals = {
        "quantum": lambda: quantum_proposal(bm, args.draws, np.random.default_rng([seed, 2])),
        "local": lambda: local_proposal(num_nodes),
        "uniform": lambda: uniform_proposal(num_nodes),
    }
    rows = []
    for method in METHODS:
        start = time.perf_counter()
        kernel = metropolis_kernel(proposals[method](), energies, args.beta)
        gap = spectral_gap(kernel, pi)
        gap_seconds = time.perf_counter() - start
        if method == "quantum":
            run = run_quantum(bm, energies, args.beta, starts, args.quantum_steps, seed)
        else:
            chain_rng = np.random.default_rng([seed, 3, METHODS.index(method)])
            run = run_classical(method, energies, args.beta, starts, args.steps, chain_rng)
        rows.append({
            "n": num_nodes, "instance": instance, "seed": seed, "method": method,
            "gap": gap, "log2_gap": float(np.log2(gap)), "gap_seconds": gap_seconds,
            "moved_exact": stationary_move_rate(kernel, pi),
            "tau_exact": exact_autocorrelation_time(kernel, pi, energies),
            **chain_figures(run, mean_energy, args.chains),
        })  # fmt: skip
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Means over the instances of each size and method."""
    summary = []
    for num_nodes in sorted({row["n"] for row in rows}):
        for method in METHODS:
            group = [r for r in rows if r["n"] == num_nodes and r["method"] == method]
            gaps = [r["gap"] for r in group]
            summary.append({
                "n": num_nodes, "method": method, "instances": len(group),
                "gap_mean": statistics.fmean(gaps), "gap_min": min(gaps), "gap_max": max(gaps),
                "log2_gap_mean": statistics.fmean(r["log2_gap"] for r in group),
                **{key: statistics.fmean(r[key] for r in group) for key in (
                    "tau_int", "tau_exact", "acceptance", "moved", "moved_exact", "us_per_step",
                    "us_per_move", "us_per_effective_sample",
                )},
                "reliable": sum(r["reliable"] for r in group),
            })  # fmt: skip
    return summary


def fit_exponents(summary: list[dict]) -> dict[str, dict]:
    """k and c of log2(mean gap) ~ c - k n per method (least squares over the sizes); also k of
    the mean of log2(gap)."""
    fits = {}
    for method in METHODS:
        group = [s for s in summary if s["method"] == method]
        sizes = [s["n"] for s in group]
        if len(set(sizes)) < 2:
            continue
        slope, intercept = np.polyfit(sizes, np.log2([s["gap_mean"] for s in group]), 1)
        slope_of_logs = np.polyfit(sizes, [s["log2_gap_mean"] for s in group], 1)[0]
        fits[method] = {
            "k": -float(slope),
            "c": float(intercept),
            "k_of_mean_log2": -float(slope_of_logs),
            "layden_k": LAYDEN_EXPONENTS[method],
            "sizes": sizes,
        }
    return fits


def earlier_summaries(paths: list[Path], sizes: list[int]) -> list[dict]:
    """The summary rows of earlier result files, none of whose sizes this run measures again."""
    rows = [row for path in paths for row in json.loads(path.read_text())["summary"]]
    repeated = sorted({row["n"] for row in rows} & set(sizes))
    if repeated:
        raise SystemExit(f"--fit-with: sizes {repeated} are measured again by this run")
    return rows


def print_report(summary: list[dict], fits: dict, timing: dict, args) -> None:
    header = (
        f"{'n':>2} {'method':7} {'gap':>8} {'gap min-max':>17} {'tau_int':>8} {'tau(P)':>8} "
        f"{'ok':>3} {'acc':>6} {'moved':>6} {'exact':>6} {'µs/step':>8} {'µs/move':>8} "
        f"{'µs/eff':>8}"
    )
    print(header)
    for s in summary:
        print(
            f"{s['n']:>2} {s['method']:7} {s['gap_mean']:>8.2e} "
            f"{s['gap_min']:>8.2e}-{s['gap_max']:<8.2e} {s['tau_int']:>8.1f} "
            f"{s['tau_exact']:>8.1f} {s['reliable']:>1}/{s['instances']:<1} "
            f"{s['acceptance']:>6.4f} {s['moved']:>6.4f} {s['moved_exact']:>6.4f} "
            f"{s['us_per_step']:>8.1f} {s['us_per_move']:>8.0f} "
            f"{s['us_per_effective_sample']:>8.0f}"
        )
    print(
        f"gap: mean over {args.instances} instances (quantum: P averaged over {args.draws} "
        f"random (g, t)); tau_int: {args.chains} chains of {args.steps} steps "
        f"(quantum {args.quantum_steps}), tau(P): exact for P; ok: instances with steps >= "
        f"{RELIABLE_LENGTH:g} tau_int; acc: accepted proposals; moved: steps that changed the "
        "state, in the chains and (exact) from P; µs per chain step, per move, per effective "
        "sample (tau_int steps)"
    )
    for method, fit in fits.items():
        print(
            f"log2(gap) ~ {fit['c']:.2f} - k n over n = {fit['sizes']}, {method:8} "
            f"k = {fit['k']:.3f} "
            f"(mean log2: {fit['k_of_mean_log2']:.3f}; Layden: {fit['layden_k']:.3f})"
        )
    print(
        f"one qemcmc step of {timing['chains']} chains at n = {timing['n']}: statevector "
        f"{timing['statevector_seconds_per_step'] * 1e3:.1f} ms, exact "
        f"{timing['exact_seconds_per_step'] * 1e3:.2f} ms ({timing['ratio']:.0f}x)"
    )


def machine_info(threads: int) -> dict:
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "qiskit": importlib.metadata.version("qiskit"),
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[6, 7, 8, 9])
    parser.add_argument("--instances", type=int, default=5, help="random machines per size")
    parser.add_argument("--draws", type=int, default=32, help="(g, t) draws of the quantum P")
    parser.add_argument("--chains", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2000, help="steps of the classical chains")
    parser.add_argument("--quantum-steps", type=int, help="default: --steps")
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--statevector-size", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3, help="timed statevector steps")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fit-with", type=Path, nargs="+", default=[],
        help="earlier result files whose sizes join the exponent fit",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    default_out = Path(__file__).parent / "results/qemcmc.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.instances, args.draws = [3, 4], 2, 4
        args.steps, args.quantum_steps, args.chains = 200, 50, 16
        args.statevector_size, args.repeats = 3, 1
        if args.out == default_out:
            args.out = default_out.with_name("qemcmc_quick.json")
    if args.quantum_steps is None:
        args.quantum_steps = args.steps
    return args


def main() -> None:
    args = parse_arguments()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = []
    for num_nodes in args.sizes:
        for instance in range(args.instances):
            rows += measure_instance(args, num_nodes, instance)
    summary = summarise(rows)
    fits = fit_exponents(earlier_summaries(args.fit_with, args.sizes) + summary)
    timing = statevector_step_seconds(args.statevector_size, args.chains, args.seed, args.repeats)
    print_report(summary, fits, timing, args)
    runtime = time.perf_counter() - start
    print(f"runtime {runtime:.0f} s")
    settings = {key: value for key, value in vars(args).items() if key not in ("out", "quick")}
    settings["fit_with"] = [str(path) for path in args.fit_with]
    settings |= {"mixing": MIXING, "time": TIME, "time_step": TIME_STEP, "sokal_c": SOKAL_WINDOW}
    result = {
        "machine": machine_info(args.threads),
        "settings": settings,
        "runtime_seconds": runtime,
        "exponents": fits,
        "statevector_timing": timing,
        "summary": summary,
        "instances": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
