"""The quantum Boltzmann machine: its exact distribution, the Gamma gradient, training."""

import numpy as np
import pytest
import scipy.linalg
import torch

from qaaan import samplers, topology
from qaaan.qbm import gamma_at, state_index
from qaaan.samplers.exact import all_states
from tests.helpers import quantum_machine


def _scipy_log_likelihood(machine, data, gamma):
    """log P(data) from scipy's expm of H built here by Kronecker products, without torch."""
    num_nodes = machine.num_nodes
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    field = sum(
        np.kron(np.eye(2 ** (num_nodes - 1 - i)), np.kron(x, np.eye(2**i)))
        for i in range(num_nodes)
    )  # bit i of the index is node i, as in all_states
    energies = machine.energy(all_states(num_nodes)).detach().double().numpy()
    rho = scipy.linalg.expm(-machine.beta * (np.diag(energies) - gamma * field))
    probabilities = np.diag(rho) / np.trace(rho)
    return np.log(probabilities[state_index(data).numpy()]).mean()


def test_the_gamma_gradient_is_the_exact_log_likelihoods():
    machine = quantum_machine(topology.complete(5), gamma=0.6, beta=1.2, learn_gamma=True)
    data = samplers.make("exact", seed=1).sample(
        quantum_machine(topology.complete(5), 0.0, seed=9), 300
    )
    log_likelihood = machine.log_likelihood(data, detach_couplings=True)
    (gradient,) = torch.autograd.grad(log_likelihood, machine.gamma)
    step = 1e-5
    finite_difference = (
        _scipy_log_likelihood(machine, data, 0.6 + step)
        - _scipy_log_likelihood(machine, data, 0.6 - step)
    ) / (2 * step)
    assert log_likelihood.item() == pytest.approx(_scipy_log_likelihood(machine, data, 0.6))
    assert gradient.item() == pytest.approx(finite_difference, rel=1e-6, abs=1e-9)
    assert abs(gradient.item()) > 1e-3


def test_learning_gamma_recovers_the_transverse_field_of_the_data():
    """h and J held at the truth; Gamma learned by the exact gradient from 0.1 moves to the
    data's Gamma = 1 (within the sampling error of 20000 draws)."""
    graph = topology.complete(4)
    truth = quantum_machine(graph, gamma=1.0)
    data = samplers.make("exact-quantum", seed=2).sample(truth, 20_000)
    machine = quantum_machine(graph, gamma=0.1, learn_gamma=True)
    optimizer = torch.optim.SGD([machine.gamma], lr=0.5)
    for _ in range(200):
        machine.learn(data, data, optimizer)  # equal data and model samples: h, J stay put
    assert torch.equal(machine.h, truth.h) and torch.equal(machine.J, truth.J)
    assert machine.transverse_field == pytest.approx(1.0, abs=0.1)


def test_the_bound_moves_h_and_j_only():
    machine = quantum_machine(topology.complete(4), gamma=0.5)
    data = samplers.make("exact", seed=1).sample(
        quantum_machine(topology.complete(4), 0.0, seed=9), 200
    )
    model = samplers.make("exact-quantum", seed=1).sample(machine, 200)
    stats = machine.learn(data, model, torch.optim.SGD(machine.parameters(), lr=0.1))
    assert machine.gamma.item() == 0.5 and stats["gamma"] == 0.5 and stats["max_change"] > 0


def test_a_schedule_is_linear_between_evenly_spaced_points():
    assert gamma_at([1.0, 0.2], 0.0) == 1.0 and gamma_at([1.0, 0.2], 1.0) == 0.2
    assert gamma_at([1.0, 0.0, 1.0], 0.25) == pytest.approx(0.5)
    assert gamma_at([1.0, 0.0, 1.0], 0.5) == 0.0
