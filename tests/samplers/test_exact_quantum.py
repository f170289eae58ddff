"""exact-quantum: the diagonal of exp(-beta H) / Z of a quantum machine, by diagonalisation."""

import math

import pytest
import torch

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError
from qaaan.qbm import QuantumBoltzmannMachine
from tests.helpers import quantum_machine


def test_one_spin_matches_the_closed_form():
    """H = -h s^z - Gamma s^x: P(+1) = (1 + (h / w) tanh(beta w)) / 2, w = sqrt(h^2 + Gamma^2)."""
    machine = QuantumBoltzmannMachine(topology.complete(1), gamma=0.7)
    machine.set_parameters(torch.tensor([0.4]), torch.zeros(0))
    beta, h, gamma = 1.3, machine.h.item(), machine.gamma.item()  # as float32
    omega = math.hypot(h, gamma)
    expected = (1 + h / omega * math.tanh(beta * omega)) / 2
    states, probabilities = samplers.make("exact-quantum", beta=beta).distribution(machine)
    assert probabilities[states[:, 0] > 0].item() == pytest.approx(expected, abs=1e-12)


def test_at_gamma_zero_the_quantum_machine_is_the_classical_one_draw_for_draw():
    graph = topology.chimera(8)
    quantum = quantum_machine(graph, gamma=0.0)
    classical = BoltzmannMachine(graph).set_parameters(quantum.h, quantum.J)
    quantum_draws = samplers.make("exact-quantum", seed=5).sample(quantum, 500)
    classical_draws = samplers.make("exact", seed=5).sample(classical, 500)
    assert torch.equal(quantum_draws, classical_draws)
    # and the diagonalised distribution agrees with Eq. 3 (not only the shortcut)
    _, eq3 = samplers.boltzmann_distribution(classical)
    assert torch.allclose(quantum.distribution(1.0), eq3, atol=1e-12)


def test_large_machines_are_refused_in_one_line():
    machine = quantum_machine(topology.chimera(16), gamma=0.5)
    with pytest.raises(ConfigError, match="N <= 12; got N = 16 \\(sample larger machines"):
        samplers.make("exact-quantum").sample(machine, 10)
    with pytest.raises(ConfigError, match="learning Gamma needs the exact log-likelihood"):
        QuantumBoltzmannMachine(topology.chimera(16), learn_gamma=True)
