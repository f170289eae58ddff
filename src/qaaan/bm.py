"""The Boltzmann machine of the latent space (paper section 4.2 and 6.1).

Energy (Eq. 2) ``E(z) = - sum_i h_i z_i - sum_{(i,j) in edges} J_ij z_i z_j`` over spins
``z_i = ±1``, distribution (Eq. 3) ``P(z) ∝ exp(-beta E(z))``; positive J is ferromagnetic.
dimod and D-Wave use the opposite sign, so `to_bqm` negates h and J.

The machine is a `torch.nn.Module` (h and J are parameters). Training is the gray-box rule of
Eq. 11-12 with beta = 1, written as the gradient of a quasi-objective (`quasi_objective`) so
that a torch optimiser applies it; the L1 metric of Eq. 13 compares data and model correlations
over all pairs of nodes.
"""

from __future__ import annotations

import dimod
import networkx as nx
import numpy as np
import torch
from torch import nn

from qaaan.errors import ConfigError

INIT_STD = 0.01
"""Standard deviation of the initial h and J: small, so that the first model is close to
uniform (the usual RBM choice, Hinton's practical guide: N(0, 0.01^2))."""


def spin_means(spins: torch.Tensor) -> torch.Tensor:
    """<z_i> over a batch of shape (num_samples, N)."""
    return spins.mean(dim=0)


def correlation_matrix(spins: torch.Tensor) -> torch.Tensor:
    """<z_i z_j> for all pairs, shape (N, N), over a batch of shape (num_samples, N)."""
    return spins.T @ spins / spins.shape[0]


def l1_metric(correlation_gap: torch.Tensor) -> float:
    """Eq. 13 from the (N, N) gap of data and model correlations: the sum of |gap| over all
    pairs i < j."""
    num_nodes = correlation_gap.shape[0]
    upper = torch.triu_indices(num_nodes, num_nodes, offset=1, device=correlation_gap.device)
    return correlation_gap[upper[0], upper[1]].abs().sum().item()


class BoltzmannMachine(nn.Module):
    """Biases ``h`` (N,) and couplings ``J`` (E,), parameters, on the ``edges`` (E, 2), a buffer,
    of a logical graph; ``bm(z)`` is the energy of Eq. 2."""

    def __init__(
        self, graph: nx.Graph, seed: int | None = None, device: str | torch.device = "cpu"
    ):
        super().__init__()
        num_nodes = graph.number_of_nodes()
        if sorted(graph.nodes) != list(range(num_nodes)):
            raise ConfigError("the graph's nodes must be the integers 0..N-1")
        self.graph = graph
        edge_list = sorted((min(u, v), max(u, v)) for u, v in graph.edges)
        self.register_buffer("edges", torch.tensor(edge_list, dtype=torch.long).reshape(-1, 2))
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.h = nn.Parameter(INIT_STD * torch.randn(num_nodes, generator=generator))
        self.J = nn.Parameter(INIT_STD * torch.randn(len(edge_list), generator=generator))
        self.to(device)

    @property
    def num_nodes(self) -> int:
        return self.h.shape[0]

    @property
    def device(self) -> torch.device:
        return self.h.device

    @property
    def transverse_field(self) -> float | None:
        """Gamma of a quantum machine (`qaaan.qbm`); None for the classical machine."""
        return None

    @torch.no_grad()
    def set_parameters(self, h: torch.Tensor, J: torch.Tensor) -> BoltzmannMachine:
        """Sets h (N,) and J (E,) in place; returns self."""
        self.h.copy_(torch.as_tensor(h, dtype=torch.float32))
        self.J.copy_(torch.as_tensor(J, dtype=torch.float32))
        return self

    def coupling_matrix(self) -> torch.Tensor:
        """The symmetric (N, N) matrix W with W_ij = W_ji = J_ij on edges, 0 elsewhere."""
        matrix = torch.zeros(self.num_nodes, self.num_nodes, device=self.device)
        matrix = matrix.index_put((self.edges[:, 0], self.edges[:, 1]), self.J)
        return matrix + matrix.T

    def energy(self, spins: torch.Tensor) -> torch.Tensor:
        """Eq. 2 for each row of `spins` (num_samples, N) -> (num_samples,)."""
        spins = spins.to(self.device, torch.float32)
        pair_products = spins[:, self.edges[:, 0]] * spins[:, self.edges[:, 1]]
        return -(spins @ self.h) - pair_products @ self.J

    forward = energy

    def edge_correlations(self, spins: torch.Tensor) -> torch.Tensor:
        """<z_i z_j> on the edges, shape (E,)."""
        return (spins[:, self.edges[:, 0]] * spins[:, self.edges[:, 1]]).mean(dim=0)

    def quasi_objective(
        self, data_spins: torch.Tensor, model_spins: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The gray-box objective ``<E>_data - <E>_model`` with both sets of samples held fixed,
        and the fit it measures.

        Its gradient is ``<z_i>_model - <z_i>_data`` for h_i and ``<z_i z_j>_model -
        <z_i z_j>_data`` for J_ij, so one gradient-descent step of size lr is exactly Eq. 11-12
        (beta = 1); any torch optimiser can take it instead. The fit: the L1 metric of Eq. 13
        (all pairs i < j) and the same sum over the edges only.
        """
        data_spins = data_spins.to(self.device, torch.float32)
        model_spins = model_spins.to(self.device, torch.float32)
        correlation_gap = correlation_matrix(data_spins) - correlation_matrix(model_spins)
        edge_gap = correlation_gap[self.edges[:, 0], self.edges[:, 1]]
        mean_gap = spin_means(model_spins) - spin_means(data_spins)
        objective = (self.h * mean_gap).sum() - (self.J * edge_gap).sum()
        fit = {"l1": l1_metric(correlation_gap), "l1_edges": edge_gap.abs().sum().item()}
        return objective, fit

    def learn(
        self,
        data_spins: torch.Tensor,
        model_spins: torch.Tensor,
        optimizer: torch.optim.Optimizer,
    ) -> dict[str, float]:
        """One gray-box step of `optimizer` on the quasi-objective; the fit before the step
        (`quasi_objective`) and the largest parameter change."""
        before = torch.cat([self.h.detach(), self.J.detach()])  # a copy: cat allocates
        objective, fit = self.quasi_objective(data_spins, model_spins)
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        change = (torch.cat([self.h.detach(), self.J.detach()]) - before).abs()
        return {**fit, "max_change": change.max().item() if change.numel() else 0.0}

    def update(
        self, data_spins: torch.Tensor, model_spins: torch.Tensor, lr: float
    ) -> dict[str, float]:
        """One gray-box step of Eq. 11-12 with learning rate `lr` (plain gradient descent):
        ``J_ij += lr (<z_i z_j>_data - <z_i z_j>_model)``, ``h_i += lr (<z_i>_data -
        <z_i>_model)``. Returns the fit and the largest change (`learn`)."""
        return self.learn(data_spins, model_spins, torch.optim.SGD(self.parameters(), lr=lr))

    def parameters_are_finite(self) -> bool:
        return bool(torch.isfinite(self.h).all() and torch.isfinite(self.J).all())

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True, assign=False):
        """Loads h and J saved from a machine on the same graph."""
        edges = state["edges"].to(self.edges)
        if edges.shape != self.edges.shape or not torch.equal(edges, self.edges):
            raise ConfigError("the saved Boltzmann machine was built on another graph")
        if state["h"].shape != self.h.shape or state["J"].shape != self.J.shape:
            raise ConfigError("the saved h or J does not match the graph's size")
        return super().load_state_dict(state, strict, assign)

    def to_bqm(self) -> dimod.BinaryQuadraticModel:
        """The dimod SPIN model with the same distribution: dimod's sign is the opposite of ours."""
        edges = self.edges.cpu().numpy()
        return dimod.BinaryQuadraticModel.from_numpy_vectors(
            linear=-self.h.detach().double().cpu().numpy(),
            quadratic=(edges[:, 0], edges[:, 1], -self.J.detach().double().cpu().numpy()),
            offset=0.0,
            vartype=dimod.SPIN,
        )

    @classmethod
    def from_bqm(cls, bqm: dimod.BinaryQuadraticModel) -> BoltzmannMachine:
        """A machine with the same distribution as `bqm`; node i is ``list(bqm.variables)[i]``.

        A BINARY model is converted to SPIN first (its offset does not change the distribution).
        """
        spin_bqm = bqm.spin if bqm.vartype is dimod.BINARY else bqm
        linear, (rows, cols, values), _, labels = spin_bqm.to_numpy_vectors(
            variable_order=list(spin_bqm.variables), return_labels=True
        )
        graph = nx.Graph()
        graph.add_nodes_from(range(len(labels)))
        graph.add_edges_from(zip(rows.tolist(), cols.tolist(), strict=True))
        machine = cls(graph, seed=0)  # a private generator: h and J are replaced below
        coupling = {(min(r, c), max(r, c)): -v for r, c, v in zip(rows, cols, values, strict=True)}
        couplings = [coupling[tuple(edge)] for edge in machine.edges.tolist()]
        return machine.set_parameters(torch.as_tensor(-linear), torch.tensor(couplings))


def random_machine(graph: nx.Graph, seed: int, h_scale: float, J_scale: float) -> BoltzmannMachine:
    """A machine with h ~ U[-h_scale, h_scale] and J ~ U[-J_scale, J_scale] (tests, demos)."""
    machine = BoltzmannMachine(graph, seed=0)  # a private generator: h and J are replaced below
    generator = np.random.default_rng(seed)
    h = generator.uniform(-h_scale, h_scale, machine.num_nodes)
    J = generator.uniform(-J_scale, J_scale, machine.edges.shape[0])
    return machine.set_parameters(torch.as_tensor(h), torch.as_tensor(J))
