"""The quantum Boltzmann machine (Amin et al., Phys. Rev. X 8, 021050, 2018): the latent machine
with a transverse field.

Its Hamiltonian is ``H = E(sigma^z) - Gamma sum_i sigma^x_i``, with E the classical energy of
Eq. 2 (our sign: the z-basis eigenvalue +1 of sigma^z_i is z_i = +1) and Gamma >= 0. The latent is
a z-basis measurement of the thermal state ``rho = exp(-beta H) / Z``, so the model distribution
is its diagonal ``P(z) = <z|rho|z>``. Gamma = 0 is the classical machine of
Eq. 3 exactly.

Training. Amin et al. bound P(z) from below with the Golden-Thompson inequality and descend the
bound (BQBM). With every unit visible the bound clamps the data on all qubits, so the positive
phase is the data moments and the negative phase the z-basis moments of rho: the gray-box rule
of Eq. 11-12 with samples of rho, which is what `BoltzmannMachine.quasi_objective` already
computes from the model samples. Gamma cannot be learned from the bound: on clamped states
<sigma^x> = 0, so the bound's Gamma gradient is ``-beta <sum_i sigma^x_i>_rho <= 0`` whatever
the data, and descent only drives Gamma to zero (which is why Amin et al. treat the visible
units' Gamma as a hyperparameter). Gamma is therefore fixed, follows a schedule, or is learned
by the exact gradient of the log-likelihood (`log_likelihood`), which needs the 2^N x 2^N
Hamiltonian, so N <= `MAX_QUBITS`.
"""

from __future__ import annotations

import functools

import networkx as nx
import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp
from torch import nn

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError
from qaaan.samplers.exact import all_states
from qaaan.settings import MAX_QUBITS


class QuantumBoltzmannMachine(BoltzmannMachine):
    """A Boltzmann machine with a transverse field ``gamma`` (a parameter, learned only when
    `learn_gamma`); `beta` is the inverse temperature of rho for the exact Gamma gradient."""

    def __init__(
        self,
        graph: nx.Graph,
        gamma: float = 0.0,
        beta: float = 1.0,
        learn_gamma: bool = False,
        seed: int | None = None,
        device: str | torch.device = "cpu",
    ):
        super().__init__(graph, seed=seed, device=device)
        if learn_gamma and self.num_nodes > MAX_QUBITS:
            raise ConfigError(
                f"learning Gamma needs the exact log-likelihood, N <= {MAX_QUBITS}; "
                f"got N = {self.num_nodes}"
            )
        self.gamma = nn.Parameter(torch.tensor(float(gamma), device=self.device), learn_gamma)
        self.beta = beta

    @property
    def transverse_field(self) -> float:
        return self.gamma.item()

    @torch.no_grad()
    def set_transverse_field(self, gamma: float) -> None:
        self.gamma.fill_(gamma)

    def quasi_objective(
        self, data_spins: torch.Tensor, model_spins: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The BQBM objective for h and J (the classical quasi-objective with samples of rho);
        with Gamma learned, minus the exact log-likelihood of the data as a function of Gamma
        alone, so that Gamma's gradient is the exact one and h and J keep the bound's."""
        objective, fit = super().quasi_objective(data_spins, model_spins)
        if self.gamma.requires_grad:
            log_likelihood = self.log_likelihood(data_spins, detach_couplings=True)
            objective = objective - log_likelihood
            fit["log_likelihood"] = log_likelihood.item()
        return objective, fit

    def learn(self, data_spins, model_spins, optimizer) -> dict[str, float]:
        """`BoltzmannMachine.learn`, with Gamma kept >= 0 (its sign does not change rho's
        diagonal: a rotation about z maps sigma^x to -sigma^x)."""
        stats = super().learn(data_spins, model_spins, optimizer)
        with torch.no_grad():
            self.gamma.clamp_(min=0.0)
        return {**stats, "gamma": self.transverse_field}

    def hamiltonian(self, detach_couplings: bool = False) -> torch.Tensor:
        """H as a dense (2^N, 2^N) float64 matrix over the states of `all_states` (row k is the
        k-th state); differentiable in Gamma, and in h and J unless `detach_couplings`."""
        if self.num_nodes > MAX_QUBITS:
            raise ConfigError(
                f"the exact quantum machine needs N <= {MAX_QUBITS}, got N = {self.num_nodes}"
            )
        states = all_states(self.num_nodes).to(self.device)
        energies = self.energy(states).double()
        if detach_couplings:
            energies = energies.detach()
        field = transverse_field_matrix(self.num_nodes).to(self.device)
        return torch.diag(energies) - self.gamma.double() * field

    def distribution(self, beta: float, detach_couplings: bool = False) -> torch.Tensor:
        """P(z) = <z| exp(-beta H) |z> / Z over `all_states`, float64.

        The exponent is shifted by a lower bound of the spectrum (Gershgorin: the smallest
        energy minus N Gamma), which cancels in the ratio and keeps exp from overflowing."""
        hamiltonian = self.hamiltonian(detach_couplings)
        lowest = hamiltonian.diagonal().min().detach() - self.num_nodes * self.gamma.abs().detach()
        shifted = hamiltonian - lowest * torch.eye(len(hamiltonian), device=self.device)
        weights = torch.linalg.matrix_exp(-beta * shifted).diagonal()
        return weights / weights.sum()

    def log_likelihood(self, data_spins: torch.Tensor, detach_couplings: bool = False):
        """The mean log P(z) of the rows of `data_spins` under rho's diagonal at the machine's
        beta (exact)."""
        probabilities = self.distribution(self.beta, detach_couplings)
        log_probabilities = probabilities.clamp_min(1e-300).log()
        return log_probabilities[state_index(data_spins.to(self.device))].mean()

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True, assign=False):
        """Loads h, J and Gamma saved from a machine on the same graph."""
        if "gamma" not in state:
            raise ConfigError("the saved machine has no transverse field (it is not a QBM)")
        return super().load_state_dict(state, strict, assign)


def gamma_at(schedule: list[float], progress: float) -> float:
    """Gamma at `progress` (0 at the first iteration, 1 at the last) of a schedule of values at
    evenly spaced points of the run, linear in between."""
    return float(np.interp(progress, np.linspace(0.0, 1.0, len(schedule)), schedule))


def state_index(spins: torch.Tensor) -> torch.Tensor:
    """The row of each spin configuration in `all_states` (bit i of the index is z_i = +1)."""
    bits = (spins > 0).long()
    return (bits << torch.arange(spins.shape[1], device=spins.device)).sum(dim=1)


@functools.cache
def transverse_field_matrix(num_nodes: int) -> torch.Tensor:
    """sum_i sigma^x_i as a dense (2^N, 2^N) float64 matrix, from Qiskit's Pauli operators.

    sigma^x_i flips bit i of a basis index, in Qiskit's order and in `all_states`' alike (bit i
    is qubit i, node i), so the matrix is the same in both."""
    terms = [("X", [node], 1.0) for node in range(num_nodes)]
    operator = SparsePauliOp.from_sparse_list(terms, num_qubits=num_nodes)
    return torch.as_tensor(operator.to_matrix(sparse=True).real.toarray(), dtype=torch.float64)
