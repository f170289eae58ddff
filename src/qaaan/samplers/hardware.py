"""The QPU path (paper section 6.2): embed the logical graph, sample on the device, unembed.

- The logical graph is embedded on the device's working qubits (`qaaan.samplers.placement`:
  one to one for Chimera graphs, chains otherwise). Embeddings are computed once per graph.
- h and J are divided by a scale factor so that they fit the device's ``h_range`` and
  ``j_range`` (only shrunk, unless ``auto_scale``: gray-box training learns parameters in the
  device's own units, so they are not rescaled when they fit); chain couplings are set to the
  strongest ferromagnetic value of the device (-1 on a 2000Q).
- Unembedding is a majority vote per chain; a tie is broken by a fair coin (dwave-system's
  ``majority_vote`` always picks +1, a bias towards +1 for even chains).

- Every QPU call has a timeout and is retried with backoff (`qaaan.samplers.resilient`); when
  every try fails, an optional ``fallback`` sampler draws from the logical machine instead, with a
  logged warning. QPU access time, failed tries and fallback calls are totalled over the run.

`MockDWave` runs all of this offline on dwave-system's MockDWaveSampler shaped as a D-Wave
2000Q, with a Boltzmann-like substitute sampler; `DWave` on a real QPU through Leap.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import dimod
import dwave.embedding
import dwave.graphs as dg
import numpy as np
import torch
from dwave.system.testing import MockDWaveSampler

from qaaan.bm import BoltzmannMachine
from qaaan.errors import (
    ConfigError,
    check_bool,
    check_choice,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_seed,
    first_line,
)
from qaaan.samplers.base import Sampler
from qaaan.samplers.dimod_backed import sampleset_to_spins
from qaaan.samplers.placement import Embedding, find_embedding
from qaaan.samplers.resilient import QPUUnavailable, RetryPolicy, call

log = logging.getLogger(__name__)

D_WAVE_2000Q = {"shape": [16, 16, 4], "h_range": [-2.0, 2.0], "j_range": [-1.0, 1.0]}


def unembed_majority(
    qubit_spins: np.ndarray, chains: list[np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Majority vote per chain, ties broken by a fair coin.

    `qubit_spins` is (num_reads, num_qubits); chain i lists the columns of logical node i.
    Returns the logical spins (num_reads, N) and whether each chain was broken (num_reads, N).
    """
    num_reads = qubit_spins.shape[0]
    votes = np.stack([qubit_spins[:, chain].sum(axis=1) for chain in chains], axis=1)
    lengths = np.array([len(chain) for chain in chains])
    coin = rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, len(chains)))
    spins = np.where(votes == 0, coin, np.sign(votes)).astype(np.int8)
    broken = np.abs(votes) != lengths
    return spins, broken


def scale_factor(bqm: dimod.BinaryQuadraticModel, properties: dict, auto_scale: bool) -> float:
    """The divisor that brings the logical h and J into the device's h_range and j_range.

    Embedding splits a logical h over its chain and a logical J over the couplers between two
    chains, so the physical values are no larger than the logical ones.
    """
    linear, (_, _, quadratic), _ = bqm.to_numpy_vectors()
    ratios = [0.0]
    if len(linear):
        ratios.append(np.abs(linear).max() / min(abs(v) for v in properties["h_range"]))
    if len(quadratic):
        ratios.append(np.abs(quadratic).max() / min(abs(v) for v in properties["j_range"]))
    largest = max(ratios)
    if auto_scale:
        return largest if largest > 0 else 1.0
    return max(largest, 1.0)


class QPUSampler(Sampler):
    """The QPU path on any structured dimod sampler (a QPU, or a mock of one)."""

    def __init__(
        self,
        qpu: dimod.Sampler,
        *,
        seed: int | None,
        auto_scale: bool,
        qpu_parameters: dict[str, Any],
        retry: RetryPolicy | None = None,
        fallback: str | None = None,
        fallback_options: dict | None = None,
        fallback_for: int = 100,
    ):
        from qaaan import samplers

        if fallback_options is not None and not isinstance(fallback_options, dict):
            raise ConfigError(f"fallback_options must be a mapping, got {fallback_options!r}")
        if fallback is None and fallback_options:
            raise ConfigError("fallback_options given without a fallback sampler")
        self.retry = retry or RetryPolicy()
        self.fallback = None
        if fallback is not None:
            self.fallback = samplers.make(fallback, **(fallback_options or {}))
        self.totals = {"qpu_access_seconds": 0.0, "qpu_failures": 0, "fallback_calls": 0}
        # after the QPU failed, this many calls go to the fallback before the QPU is tried again
        self.fallback_for = check_nonnegative_int("fallback_for", fallback_for)
        self.fallback_left = 0
        self.qpu = qpu
        self.target = qpu.to_networkx_graph()
        self.auto_scale = check_bool("auto_scale", auto_scale)
        self.qpu_parameters = qpu_parameters
        self.rng = np.random.default_rng(seed)
        self.embeddings: dict[bytes, Embedding] = {}
        self.info = {}

    def state_dict(self) -> dict[str, Any]:
        device = getattr(self.qpu, "substitute_sampler", None)
        return {
            "rng": self.rng.bit_generator.state,
            "embeddings": {key.hex(): embedding for key, embedding in self.embeddings.items()},
            "device": device.state_dict() if isinstance(device, Sampler) else {},
            "totals": dict(self.totals),
            "fallback_left": self.fallback_left,
            "fallback": self.fallback.state_dict() if self.fallback is not None else {},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.embeddings = {bytes.fromhex(k): e for k, e in state["embeddings"].items()}
        device = getattr(self.qpu, "substitute_sampler", None)
        if isinstance(device, Sampler):
            device.load_state_dict(state["device"])
        self.totals.update(state.get("totals", {}))
        self.fallback_left = state.get("fallback_left", 0)
        if self.fallback is not None:
            self.fallback.load_state_dict(state.get("fallback", {}))

    def embedding_for(self, bm: BoltzmannMachine) -> Embedding:
        key = bm.num_nodes.to_bytes(4, "little") + bm.edges.cpu().numpy().tobytes()
        if key not in self.embeddings:
            self.embeddings[key] = find_embedding(bm.graph, self.target, self.rng)
        return self.embeddings[key]

    def sample(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        num_reads = check_positive_int("num_reads", num_reads)
        if self.fallback_left > 0:  # the QPU failed recently: not even an embedding is needed
            self.fallback_left -= 1
            return self._fall_back(bm, num_reads, "the QPU failed recently")
        embedding = self.embedding_for(bm)
        logical = bm.to_bqm()
        scale = scale_factor(logical, self.qpu.properties, self.auto_scale)
        logical.scale(1.0 / scale)
        strongest_ferromagnet = -min(self.qpu.properties["j_range"])
        embedded = dwave.embedding.embed_bqm(
            logical, embedding, self.target.adj, chain_strength=strongest_ferromagnet
        )
        try:
            sampleset, failures = call(lambda: self._ask_qpu(embedded, num_reads), self.retry)
        except QPUUnavailable as error:
            self.totals["qpu_failures"] += self.retry.retries + 1
            if self.fallback is None:
                raise
            self.fallback_left = self.fallback_for
            log.warning("%s; the fallback sampler %s draws instead", error, self.fallback.name)
            return self._fall_back(bm, num_reads, str(error))
        self.totals["qpu_failures"] += len(failures)
        timing = dict(sampleset.info.get("timing", {}))
        self.totals["qpu_access_seconds"] += timing.get("qpu_access_time", 0.0) / 1e6
        qubits = sorted(embedded.variables)
        column = {q: i for i, q in enumerate(qubits)}
        chains = [np.array([column[q] for q in embedding[i]]) for i in range(bm.num_nodes)]
        # a QPU groups identical reads: shuffle the expanded rows back into i.i.d. order
        qubit_spins = self.rng.permutation(sampleset_to_spins(sampleset, qubits), axis=0)
        spins, broken = unembed_majority(qubit_spins, chains, self.rng)
        lengths = [len(chain) for chain in chains]
        self.info = {
            "chain_break_fraction": float(broken.mean()),
            "scale": float(scale),
            "max_chain_length": max(lengths),
            "mean_chain_length": float(np.mean(lengths)),
            "qubits": sum(lengths),
            "timing": timing,
            "retried": failures,
            **self.totals,
        }
        return torch.as_tensor(spins, dtype=torch.float32, device=bm.device)

    def _ask_qpu(self, embedded: dimod.BinaryQuadraticModel, num_reads: int) -> dimod.SampleSet:
        sampleset = self.qpu.sample(embedded, num_reads=num_reads, **self.qpu_parameters)
        sampleset.resolve()  # a cloud sampleset is a future: wait for it inside the timeout
        return sampleset

    def _fall_back(self, bm: BoltzmannMachine, num_reads: int, reason: str) -> torch.Tensor:
        self.totals["fallback_calls"] += 1
        spins = self.fallback.sample(bm, num_reads)
        self.info = {"fallback": self.fallback.name, "qpu_error": reason, **self.totals}
        return spins


def mock_2000q(
    dead_fraction: float, seed: int | None, substitute: dimod.Sampler, substitute_kwargs: dict
) -> MockDWaveSampler:
    """MockDWaveSampler shaped as a D-Wave 2000Q (C16, 2048 qubits, h in [-2, 2], J in [-1, 1]).

    A `dead_fraction` of the qubits, and the same share of the couplers, is removed (chosen by
    `seed`). Real 2000Qs had about 0.3% dead qubits; a few % leave no room for a one-to-one
    Chimera placement, and the path then falls back to minorminer's chains.
    """
    lattice = dg.chimera_graph(*D_WAVE_2000Q["shape"])
    rng = np.random.default_rng(seed)
    qubits, couplers = np.array(sorted(lattice.nodes)), sorted(lattice.edges)
    dead_qubits = rng.choice(qubits, size=round(dead_fraction * len(qubits)), replace=False)
    dead_couplers = rng.choice(
        len(couplers), size=round(dead_fraction * len(couplers)), replace=False
    )
    mock = MockDWaveSampler(
        topology_type="chimera",
        topology_shape=D_WAVE_2000Q["shape"],
        broken_nodes=[int(q) for q in dead_qubits],
        broken_edges={couplers[i] for i in dead_couplers},
        substitute_sampler=substitute,
        substitute_kwargs=substitute_kwargs,
        exact_solver_cutoff=0,
    )
    mock.properties.update(
        chip_id="MockDWave2000Q",
        h_range=D_WAVE_2000Q["h_range"],
        j_range=D_WAVE_2000Q["j_range"],
    )
    return mock


SUBSTITUTE_DEFAULTS = {"gibbs": {"sweeps": 100, "burn_in": 0}, "sqa": {}}


class MockDWave(QPUSampler):
    """The whole QPU path offline on a mock 2000Q.

    Options: ``dead_fraction`` (share of dead qubits and couplers), ``seed`` (dead qubits,
    embedding choice, tie coins, substitute), ``auto_scale``, and the Boltzmann-like sampler that
    plays the device: ``substitute`` ('gibbs': classical at its beta, 100 fresh sweeps per call
    by default; 'sqa': a simulated quantum annealer) with ``substitute_options`` (its options,
    e.g. ``{"beta": 2.0}``: the device's inverse temperature in problem units). The resilience
    options of `DWave` apply too (no timeout by default: the mock is local).
    """

    name = "mock-dwave"

    def __init__(
        self,
        *,
        dead_fraction: float = 0.0,
        seed: int | None = None,
        auto_scale: bool = False,
        substitute: str = "gibbs",
        substitute_options: dict | None = None,
        timeout: float | None = None,
        retries: int = 3,
        backoff: float = 1.0,
        fallback: str | None = None,
        fallback_options: dict | None = None,
        fallback_for: int = 100,
    ):
        from qaaan import samplers

        seed = check_seed(seed)
        if not isinstance(dead_fraction, int | float) or not 0 <= dead_fraction < 0.5:
            raise ConfigError(f"dead_fraction must be a number in [0, 0.5), got {dead_fraction!r}")
        check_choice("substitute", substitute, tuple(SUBSTITUTE_DEFAULTS))
        if substitute_options is not None and not isinstance(substitute_options, dict):
            raise ConfigError(f"substitute_options must be a mapping, got {substitute_options!r}")
        options = {"seed": seed, **SUBSTITUTE_DEFAULTS[substitute], **(substitute_options or {})}
        device = samplers.make(substitute, **options)
        qpu = mock_2000q(dead_fraction, seed, device, substitute_kwargs={})
        super().__init__(
            qpu, seed=seed, auto_scale=auto_scale, qpu_parameters={},
            retry=RetryPolicy(timeout, retries, backoff), fallback=fallback,
            fallback_options=fallback_options, fallback_for=fallback_for,
        )  # fmt: skip


def _credentials_configured() -> bool:
    from dwave.cloud.config import load_config

    if os.environ.get("DWAVE_API_TOKEN"):
        return True
    try:
        return bool(load_config().get("token"))
    except Exception:  # an unreadable or malformed config file means: not configured
        return False


class DWave(QPUSampler):
    """A real D-Wave QPU through Leap (its own topology and dead qubits).

    Options: ``solver`` (a solver name, or None for Leap's default QPU), ``seed`` (embedding and
    tie coins), ``auto_scale``, ``annealing_time`` in µs (the paper used 1 µs; None is the
    device's default). Resilience: ``timeout`` seconds per call (default 300), ``retries`` (3)
    with ``backoff`` seconds doubling (1, 2, 4), and ``fallback``, a sampler name (e.g.
    'gibbs') with ``fallback_options``, used with a logged warning when every try failed, and
    for the next ``fallback_for`` calls (100) before the QPU is tried again.
    """

    name = "dwave"

    def __init__(
        self,
        *,
        solver: str | None = None,
        seed: int | None = None,
        auto_scale: bool = False,
        annealing_time: float | None = None,
        timeout: float | None = 300.0,
        retries: int = 3,
        backoff: float = 1.0,
        fallback: str | None = None,
        fallback_options: dict | None = None,
        fallback_for: int = 100,
    ):
        seed = check_seed(seed)
        parameters = {}
        if annealing_time is not None:
            parameters["annealing_time"] = check_positive_float("annealing_time", annealing_time)
        if not _credentials_configured():
            raise ConfigError(
                "no D-Wave credentials: set DWAVE_API_TOKEN or create a config file with "
                "`dwave config create` (see docs.ocean.dwavesys.com, 'Configuring Access to Leap')"
            )
        from dwave.system import DWaveSampler

        try:
            qpu = DWaveSampler(solver=solver) if solver else DWaveSampler()
        except Exception as error:  # network, authentication, unknown solver: all say why
            reason = first_line(error)
            message = f"could not open D-Wave solver {solver or '(default)'}: {reason}"
            raise ConfigError(message) from error
        super().__init__(
            qpu, seed=seed, auto_scale=auto_scale, qpu_parameters=parameters,
            retry=RetryPolicy(timeout, retries, backoff), fallback=fallback,
            fallback_options=fallback_options, fallback_for=fallback_for,
        )  # fmt: skip
