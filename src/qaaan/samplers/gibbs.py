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
from pydantic import Field

from qaaan.bm import BoltzmannMachine
from qaaan.samplers import kernels
from qaaan.samplers.options import Beta, SamplerOptions
from qaaan.settings import Seed


class GibbsSampler(kernels.ChainSampler):
    """Persistent block Gibbs chains."""

    name = "gibbs"

    class Options(SamplerOptions):
        sweeps: int = Field(1, ge=1, description="sweeps of every chain per call")
        burn_in: int = Field(100, ge=0, description="sweeps of fresh chains before their first use")
        beta: Beta = Field(1.0, description="inverse temperature of Eq. 3")
        seed: Seed | None = Field(None, description="seed of the chains (None: random)")
        backend: kernels.Backend = Field("auto", description="auto, numba (CPU) or torch")

    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        shape = (1, bm.num_nodes, num_reads)
        chains = self.chains
        if chains is None or chains.spins.shape != shape or chains.spins.device != bm.device:
            self.chains = kernels.Chains.random(shape, bm.device, self.numpy_rng)
            self._run(bm, self.options.burn_in)
        self._run(bm, self.options.sweeps)
        backend = kernels.backend_for(self.options.backend, bm.device)
        self.info = {"sweeps": self.options.sweeps, "backend": backend}
        return self.chains.spins[0].T.contiguous()

    def _run(self, bm: BoltzmannMachine, sweeps: int) -> None:
        # one slice at Gamma = 0 (slice coupling < 0): the classical heat bath of Eq. 4
        beta = self.options.beta
        self.chains.sweep(
            bm, self.colours(bm), [beta] * sweeps, [-1.0] * sweeps, self.options.backend
        )
