"""Exact Boltzmann sampling by enumeration (Eq. 3): the reference other samplers are tested on."""

from __future__ import annotations

import torch
from pydantic import Field

from qaaan.bm import BoltzmannMachine, correlation_matrix, spin_means
from qaaan.errors import ConfigError
from qaaan.samplers.base import TorchDimodSampler
from qaaan.samplers.options import Beta, SamplerOptions
from qaaan.settings import Seed

MAX_NODES = 20


def all_states(num_nodes: int) -> torch.Tensor:
    """The 2^N spin configurations as a (2^N, N) float64 tensor of ±1."""
    codes = torch.arange(2**num_nodes, dtype=torch.long)
    bits = (codes[:, None] >> torch.arange(num_nodes, dtype=torch.long)) & 1
    return (2 * bits - 1).double()


def boltzmann_distribution(
    bm: BoltzmannMachine, beta: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """All states (2^N, N) and their probabilities P(z) ∝ exp(-beta E(z)) (Eq. 3), in float64."""
    if bm.num_nodes > MAX_NODES:
        raise ConfigError(f"exact enumeration needs N <= {MAX_NODES}, got N = {bm.num_nodes}")
    states = all_states(bm.num_nodes)
    h = bm.h.detach().double().cpu()
    coupling = bm.coupling_matrix().detach().double().cpu()
    energies = -(states @ h) - 0.5 * ((states @ coupling) * states).sum(dim=1)
    return states, torch.softmax(-beta * energies, dim=0)


def exact_moments(bm: BoltzmannMachine, beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact <z_i> (N,) and <z_i z_j> (N, N) under Eq. 3, float64."""
    states, probabilities = boltzmann_distribution(bm, beta)
    means = probabilities @ states
    correlations = states.T @ (probabilities[:, None] * states)
    return means, correlations


def moment_deviation(spins: torch.Tensor, bm: BoltzmannMachine, beta: float = 1.0) -> float:
    """The largest gap between the moments of `spins` (<z_i> and <z_i z_j>) and the exact ones
    of `bm` at `beta`."""
    means, correlations = exact_moments(bm, beta)
    spins = spins.double().cpu()
    return max(
        (spin_means(spins) - means).abs().max().item(),
        (correlation_matrix(spins) - correlations).abs().max().item(),
    )


class ExactSampler(TorchDimodSampler):
    """Independent draws from the enumerated distribution, N <= 20."""

    name = "exact"

    class Options(SamplerOptions):
        beta: Beta = Field(1.0, description="inverse temperature of Eq. 3")
        seed: Seed | None = Field(None, description="seed of the draws (None: random)")

    def __init__(self, **options):
        super().__init__(**options)
        self.generator = torch.Generator()
        seed = self.options.seed
        self.generator.manual_seed(seed if seed is not None else torch.seed())

    def state_dict(self) -> dict:
        return {**super().state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.generator.set_state(state["generator"])

    def distribution(self, bm: BoltzmannMachine) -> tuple[torch.Tensor, torch.Tensor]:
        """All states and their probabilities under the sampler's beta."""
        return boltzmann_distribution(bm, self.options.beta)

    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        states, probabilities = self.distribution(bm)
        rows = torch.multinomial(
            probabilities, num_reads, replacement=True, generator=self.generator
        )
        return states[rows].float().to(bm.device)
