"""The circuit Born machine: its simulation against Qiskit, its losses, its two gradients."""

import itertools
import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qaaan.quantum import born


def _machine(qubits=4, depth=2, seed=0):
    machine = born.BornMachine(qubits, depth, seed=seed)
    with torch.no_grad():  # angles of order 1, far from the start's near-product state
        machine.theta.uniform_(-math.pi, math.pi, generator=torch.Generator().manual_seed(seed))
    return machine


def _data(qubits, count=200, seed=1):
    generator = torch.Generator().manual_seed(seed)
    bits = torch.rand(count, 2 * qubits, generator=generator) < torch.linspace(0.1, 0.9, 2 * qubits)
    return torch.where(bits, -1.0, 1.0)


def test_the_simulation_is_qiskits_statevector_in_both_readouts():
    machine = _machine()
    bound = machine.circuit.assign_parameters(machine.theta.detach().numpy())
    assert set(bound.count_ops()) == {"ry", "rz", "cz"}
    state = born.simulate(machine.steps, machine.kinds, 4, machine.theta).detach().numpy()
    assert np.abs(state - Statevector(bound).data).max() < 1e-12
    rotated = bound.copy()
    rotated.h(range(4))
    model_z, model_x = (p.detach().numpy() for p in machine.distributions())
    assert np.abs(model_z - Statevector(bound).probabilities()).max() < 1e-12
    assert np.abs(model_x - Statevector(rotated).probabilities()).max() < 1e-12


def test_the_mmd_kernel_is_the_gaussian_mixture_on_hamming_distances():
    qubits = 3
    vector = torch.randn(2**qubits, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    states = list(itertools.product((0, 1), repeat=qubits))
    kernel = torch.zeros(len(states), len(states), dtype=torch.float64)
    for a, b in itertools.product(range(len(states)), repeat=2):
        distance = sum(x != y for x, y in zip(states[a][::-1], states[b][::-1], strict=True))
        kernel[a, b] = np.mean([math.exp(-distance / (2 * s)) for s in born.BANDWIDTHS])
    assert torch.allclose(born.kernel_times(vector, qubits), kernel @ vector, atol=1e-12)


def test_kl_is_the_divergence_of_the_data_from_the_model():
    model = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    data = torch.tensor([0.5, 0.0, 0.25, 0.25], dtype=torch.float64)
    expected = 0.5 * math.log(0.5 / 0.1) + 0.25 * math.log(0.25 / 0.3) + 0.25 * math.log(0.25 / 0.4)
    assert born.divergence(model, data, "kl", 2).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("loss", ["mmd", "kl"])
def test_the_parameter_shift_rule_gives_the_statevector_gradient(loss):
    machine = _machine(qubits=3, depth=2, seed=2)
    data = _data(3)
    machine.loss(data, loss).backward()
    shifted = machine.parameter_shift_gradient(data, loss)
    assert machine.theta.grad.abs().max() > 1e-3
    assert torch.allclose(shifted, machine.theta.grad, atol=1e-9, rtol=0)


def test_draws_follow_the_two_readouts():
    machine = _machine(qubits=3, depth=2, seed=3)
    spins = machine.sample(40_000, torch.Generator().manual_seed(0))
    assert spins.shape == (40_000, 6) and set(spins.unique().tolist()) == {-1.0, 1.0}
    for half, model in zip((spins[:, :3], spins[:, 3:]), machine.distributions(), strict=True):
        distance = 0.5 * (born.empirical(half) - model.detach()).abs().sum().item()
        assert distance < 0.02


@pytest.mark.parametrize("loss", ["mmd", "kl"])
def test_training_fits_a_target_distribution(loss):
    machine, data = born.BornMachine(3, 3, seed=0), _data(3, count=4000)
    optimizer = torch.optim.Adam(machine.parameters(), lr=0.05)
    first = machine.loss(data, loss).item()
    for _ in range(150):
        optimizer.zero_grad()
        machine.loss(data, loss).backward()
        optimizer.step()
    assert machine.loss(data, loss).item() < 0.2 * first
