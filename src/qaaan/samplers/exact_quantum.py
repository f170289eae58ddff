"""Exact z-basis sampling of a quantum Boltzmann machine's thermal state (`qaaan.qbm`).

Draws from ``P(z) = <z| exp(-beta H) |z> / Z`` with ``H = E(sigma^z) - Gamma sum_i sigma^x_i``,
computed from the dense 2^N x 2^N Hamiltonian, so N <= `MAX_QUBITS`: the reference every test of
the quantum machine is checked against. A classical machine (no transverse field) is drawn from
Eq. 3 exactly as by ``exact``, and so is a quantum one at Gamma = 0, draw for draw.
"""

from __future__ import annotations

import torch

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError
from qaaan.samplers.exact import ExactSampler, all_states
from qaaan.settings import MAX_QUBITS


class ExactQuantumSampler(ExactSampler):
    """Independent draws from the diagonal of exp(-beta H) / Z, N <= 12."""

    name = "exact-quantum"
    accepts_transverse_field = True

    def distribution(self, bm: BoltzmannMachine) -> tuple[torch.Tensor, torch.Tensor]:
        if bm.num_nodes > MAX_QUBITS:
            raise ConfigError(
                f"exact-quantum diagonalises the 2^N x 2^N Hamiltonian, N <= {MAX_QUBITS}; "
                f"got N = {bm.num_nodes} (sample larger machines with sqa)"
            )
        if not bm.transverse_field:
            return super().distribution(bm)
        probabilities = bm.distribution(self.options.beta).detach().cpu()
        return all_states(bm.num_nodes), probabilities
