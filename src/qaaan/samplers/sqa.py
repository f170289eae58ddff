"""Simulated quantum annealing: path-integral Monte Carlo of the annealer's Hamiltonian (Eq. 5-7).

The transverse-field Ising model ``H(s) = s E(sigma^z) - Gamma0 (1 - s) sum_i sigma^x_i``, with E
the machine's energy (Eq. 2, our sign), is simulated at inverse temperature ``beta`` by the
Suzuki-Trotter mapping onto ``trotter`` coupled classical slices (the kernel and its weights are
in `qaaan.samplers.kernels`). One anneal runs ``sweeps`` sweeps; sweep n (of S) is at
``t = (n + 1) / S`` and ``s = schedule(t)``, piecewise linear through the schedule's (t, s) points,
like D-Wave's ``anneal_schedule``:

- ``"linear"``: s from 0 to 1 (forward annealing, from random slices);
- ``[(0, s0), (1, s0)]``: a constant s0, whose equilibrium is the quantum Boltzmann distribution;
- ``[(0, 1), (0.4, sp), (0.6, sp), (1, 1)]``: reverse annealing with a pause at sp, starting at
  s = 1 from ``initial_state`` (given spins, or ``"persistent"``: the previous call's result).

A quantum Boltzmann machine (`qaaan.qbm`, ``H = E - Gamma sum_i sigma^x_i``) is instead sampled at
its own fixed Gamma: every sweep at s = 1 with the machine's transverse field, no annealing
(``gamma`` and ``schedule`` are then unused), so that the slices sample its thermal state
exp(-beta H) / Z; with ``initial_state="persistent"`` the chains carry over between calls.

All reads and slices of one call run at once. ``return_slices`` picks which slices are returned:
``"random"`` (one uniformly chosen slice per read: an unbiased draw of the quantum distribution's
diagonal), ``"all"`` (every slice: trotter x num_reads rows, read by read) or ``"lowest"`` (the
slice with the lowest energy, what OpenJij returns).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError
from qaaan.samplers import kernels
from qaaan.samplers.options import Beta, SamplerOptions
from qaaan.settings import Seed

LOCKED = -1.0  # the kernel's mark for Gamma = 0: slices locked together


def parse_schedule(schedule: Any) -> tuple[np.ndarray, np.ndarray]:
    """'linear' or a list of (t, s) points -> arrays t and s, checked."""
    if schedule == "linear":
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    allowed = "'linear' or a list of (t, s) points, t from 0 to 1 increasing, s in [0, 1]"
    try:
        points = np.array(schedule, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"schedule must be {allowed}; got {schedule!r}") from None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise ConfigError(f"schedule must be {allowed}; got {schedule!r}")
    times, values = points[:, 0], points[:, 1]
    if times[0] != 0 or times[-1] != 1 or np.any(np.diff(times) <= 0):
        raise ConfigError(f"schedule times must increase from 0 to 1, got {times.tolist()}")
    if np.any((values < 0) | (values > 1)):
        raise ConfigError(f"schedule values s must lie in [0, 1], got {values.tolist()}")
    return times, values


def sweep_parameters(
    schedule: tuple[np.ndarray, np.ndarray], sweeps: int, beta: float, gamma: float, trotter: int
) -> tuple[list[float], list[float]]:
    """Per sweep: the field scale beta s / P and the slice coupling 1/2 ln coth(beta Gamma / P)."""
    times = np.arange(1, sweeps + 1) / sweeps
    s = np.interp(times, *schedule)
    field_scales = (beta * s / trotter).tolist()
    slice_couplings = [slice_coupling(beta * gamma * (1.0 - value) / trotter) for value in s]
    return field_scales, slice_couplings


def slice_coupling(x: float) -> float:
    """The coupling 1/2 ln coth(x) of neighbouring slices for x = beta Gamma(s) / P."""
    return LOCKED if x < 1e-7 else 0.5 * math.log(1.0 / math.tanh(x))


class SQASampler(kernels.ChainSampler):
    """Simulated quantum annealing (path-integral Monte Carlo), vectorised over reads and slices.

    The defaults (4 slices, 64 sweeps) keep 1000 reads of a 100-spin machine near 30 ms, cheap
    enough to run every training iteration; raise them for a more faithful anneal.
    """

    name = "sqa"
    accepts_transverse_field = True

    class Options(SamplerOptions):
        beta: Beta = Field(1.0, description="inverse temperature of the simulation")
        gamma: Beta = Field(1.0, description="transverse field Gamma0 at s = 0")
        trotter: int = Field(4, ge=1, description="imaginary-time slices P (1 or even)")
        sweeps: int = Field(64, ge=1, description="sweeps per anneal")
        schedule: Any = Field(
            "linear", description="'linear' or (t, s) points, t from 0 to 1, s in [0, 1]"
        )
        seed: Seed | None = Field(None, description="seed of the slices (None: random)")
        return_slices: Literal["random", "all", "lowest"] = Field(
            "random", description="slices returned per read"
        )
        initial_state: Any = Field(
            None, description="None (random), 'persistent' (the previous reads) or spins"
        )
        backend: kernels.Backend = Field("auto", description="auto, numba (CPU) or torch")

        @field_validator("trotter")
        @classmethod
        def _one_or_even(cls, trotter: int) -> int:
            if trotter > 1 and trotter % 2:
                raise ValueError("must be 1 or even (slices are updated by parity)")
            return trotter

        @field_validator("schedule")
        @classmethod
        def _schedule(cls, schedule: Any) -> Any:
            parse_schedule(schedule)
            return schedule

        @field_validator("initial_state")
        @classmethod
        def _initial_state(cls, initial_state: Any) -> Any:
            _check_initial_state(initial_state)
            return initial_state

    def __init__(self, **options):
        super().__init__(**options)
        self.schedule = parse_schedule(self.options.schedule)
        self.initial_state = _check_initial_state(self.options.initial_state)
        self.field_scales, self.slice_couplings = sweep_parameters(
            self.schedule,
            *(getattr(self.options, k) for k in ("sweeps", "beta", "gamma", "trotter")),
        )

    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        self.chains = self._initial_chains(bm, num_reads)
        backend = self.options.backend
        field_scales, slice_couplings = self._sweep_parameters(bm)
        self.chains.sweep(bm, self.colours(bm), field_scales, slice_couplings, backend)
        self.info = {
            "sweeps": self.options.sweeps,
            "trotter": self.options.trotter,
            "backend": kernels.backend_for(backend, bm.device),
        }
        if bm.transverse_field is None:
            self.info["final_s"] = float(self.schedule[1][-1])
        return self._returned_slices(bm, self.chains.spins)

    def _sweep_parameters(self, bm: BoltzmannMachine) -> tuple[list[float], list[float]]:
        """The anneal's per-sweep parameters; for a quantum machine, every sweep at s = 1 with
        the machine's own Gamma."""
        gamma = bm.transverse_field
        if gamma is None:
            return self.field_scales, self.slice_couplings
        beta, trotter, sweeps = self.options.beta, self.options.trotter, self.options.sweeps
        return [beta / trotter] * sweeps, [slice_coupling(beta * gamma / trotter)] * sweeps

    def _initial_chains(self, bm: BoltzmannMachine, num_reads: int) -> kernels.Chains:
        shape = (self.options.trotter, bm.num_nodes, num_reads)
        start = self.initial_state
        if isinstance(start, str):  # 'persistent': continue from the previous call's slices
            previous = self.chains
            if previous is not None and previous.spins.shape == shape:
                return kernels.Chains(previous.spins.to(bm.device), self.numpy_rng)
            return kernels.Chains.random(shape, bm.device, self.numpy_rng)
        if start is None:
            return kernels.Chains.random(shape, bm.device, self.numpy_rng)
        state = torch.as_tensor(start, dtype=torch.float32, device=bm.device)
        state = state.reshape(-1, state.shape[-1])
        if state.shape[1] != bm.num_nodes or state.shape[0] not in (1, num_reads):
            raise ConfigError(
                f"initial_state must have N = {bm.num_nodes} spins or shape "
                f"({num_reads}, {bm.num_nodes}), got {tuple(state.shape)}"
            )
        spins = state.T[None].expand(shape).clone()
        return kernels.Chains(spins, self.numpy_rng)

    def _returned_slices(self, bm: BoltzmannMachine, spins: torch.Tensor) -> torch.Tensor:
        num_slices, num_nodes, num_reads = spins.shape
        by_read = spins.permute(2, 0, 1)  # (reads, slices, N)
        if self.options.return_slices == "all":
            return by_read.reshape(num_reads * num_slices, num_nodes).contiguous()
        if self.options.return_slices == "random":
            chosen = torch.as_tensor(self.numpy_rng.integers(num_slices, size=num_reads))
        else:
            energies = bm.energy(by_read.reshape(-1, num_nodes)).reshape(num_reads, num_slices)
            chosen = energies.argmin(dim=1).cpu()
        return by_read[torch.arange(num_reads), chosen.to(spins.device)].contiguous()


def _check_initial_state(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value == "persistent"):
        return value
    if isinstance(value, str):
        raise ConfigError(f"initial_state must be None, 'persistent' or spins; got {value!r}")
    array = np.asarray(value, dtype=float)
    if array.size == 0 or not np.isin(array, (-1.0, 1.0)).all():
        raise ConfigError("initial_state must hold spins of value -1 or +1")
    return array
