"""Persistent-chain Gibbs sampling, the paper's classical MCMC (section 4.2, Eq. 4).

A spin is set to +1 with probability ``S(2 beta (h_i + sum_j J_ij z_j))`` (Eq. 4) given its
neighbours. Spins of one colour class (`qaaan.topology.colour_classes`) share no edge, so a sweep
updates the classes one after another: two blocks on bipartite and Chimera graphs, one site at a
time on a complete graph. Chains persist between calls and follow the machine as it is trained
(persistent contrastive divergence); ``sample(bm, n)`` runs n chains, and a new n, N or device
starts fresh chains with ``burn_in`` sweeps.

It is the one-slice case of the path-integral kernel in `qaaan.samplers.kernels` (a numba
kernel on CPU, torch block updates on CUDA), both tested against exact enumeration.
"""

from __future__ import annotations

import torch

from qaaan.bm import BoltzmannMachine
from qaaan.errors import (
    check_choice,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from qaaan.samplers import kernels


class GibbsSampler(kernels.ChainSampler):
    """Persistent block Gibbs chains. Options: sweeps, burn_in, beta, seed, backend."""

    name = "gibbs"

    def __init__(
        self,
        *,
        sweeps: int = 1,
        burn_in: int = 100,
        beta: float = 1.0,
        seed: int | None = None,
        backend: str = "auto",
    ):
        self.sweeps = check_positive_int("sweeps", sweeps)
        self.burn_in = check_nonnegative_int("burn_in", burn_in)
        self.beta = check_positive_float("beta", beta)
        self.backend = check_choice("backend", backend, kernels.BACKENDS)
        super().__init__(
            sweeps=self.sweeps,
            burn_in=self.burn_in,
            beta=self.beta,
            seed=check_seed(seed),
            backend=self.backend,
        )

    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        shape = (1, bm.num_nodes, num_reads)
        chains = self.chains
        if chains is None or chains.spins.shape != shape or chains.spins.device != bm.device:
            self.chains = kernels.Chains.random(shape, bm.device, self.numpy_rng)
            self._run(bm, self.burn_in)
        self._run(bm, self.sweeps)
        self.info = {"sweeps": self.sweeps, "backend": kernels.backend_for(self.backend, bm.device)}
        return self.chains.spins[0].T.contiguous()

    def _run(self, bm: BoltzmannMachine, sweeps: int) -> None:
        # one slice at Gamma = 0 (slice coupling < 0): the classical heat bath of Eq. 4
        self.chains.sweep(bm, self.colours(bm), [self.beta] * sweeps, [-1.0] * sweeps, self.backend)
