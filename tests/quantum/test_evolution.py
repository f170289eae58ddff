"""The qemcmc proposal: Qiskit's symmetric product formula, and the torch path that batches it."""

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Operator, Statevector

from qaaan import topology
from qaaan.bm import random_machine
from qaaan.quantum import evolution


def _unitary(machine, mixing, time, time_step=0.8):
    """The torch path's matrix: every basis state evolved."""
    energies = evolution.basis_energies(machine)
    scale = (1 - mixing) * evolution.normalisation(machine)
    columns = torch.arange(2**machine.num_nodes)
    return evolution.evolve(energies, columns, mixing, scale, time, time_step).numpy()


@pytest.mark.parametrize(("family", "num_nodes"), [("complete", 5), ("chimera", 8)])
def test_the_torch_path_is_the_unitary_of_qiskits_circuit(family, num_nodes):
    machine = random_machine(topology.make(family, num_nodes), seed=4, h_scale=1.0, J_scale=1.0)
    circuit = evolution.evolution_circuit(machine, mixing=0.4, time=5.3, time_step=0.8)
    assert circuit.count_ops()["rx"] > 0 and circuit.count_ops()["rzz"] > 0
    expected = Operator(circuit).data
    assert np.abs(_unitary(machine, 0.4, 5.3) - expected).max() < 1e-12


def test_the_proposal_is_symmetric():
    machine = random_machine(topology.complete(6), seed=1, h_scale=1.0, J_scale=1.0)
    for mixing, time in [(0.25, 2.0), (0.6, 19.5), (0.37, 7.1)]:
        proposal = np.abs(_unitary(machine, mixing, time)) ** 2  # Q[s', s]
        assert np.abs(proposal - proposal.T).max() < 1e-9
        assert np.allclose(proposal.sum(axis=0), 1.0, atol=1e-12)
        assert np.abs(proposal - np.eye(len(proposal))).max() > 0.1  # it does move


def test_the_circuit_prepares_the_state_and_measures_qubit_i_as_node_i():
    machine = random_machine(topology.complete(4), seed=2, h_scale=1.0, J_scale=1.0)
    spins = torch.tensor([1.0, -1.0, -1.0, 1.0])
    evolved = evolution.evolution_circuit(machine, 0.5, 3.0, 0.8)
    circuit = evolution.proposal_circuit(evolved, spins)
    index = evolution.basis_index(spins[None]).item()
    assert index == 0b0110
    probabilities = Statevector(circuit.remove_final_measurements(inplace=False)).probabilities()
    assert np.allclose(probabilities, np.abs(_unitary(machine, 0.5, 3.0)[:, index]) ** 2)


def test_basis_energies_are_eq_2_in_qiskits_order():
    machine = random_machine(topology.complete(4), seed=3, h_scale=1.0, J_scale=1.0)
    states = evolution.basis_spins(4)
    assert torch.equal(states[0b0010], torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64))
    assert torch.allclose(evolution.basis_energies(machine), machine.energy(states).double())
    assert torch.equal(evolution.basis_index(states), torch.arange(16))


def test_the_normalisation_equalises_the_frobenius_norms():
    machine = random_machine(topology.complete(5), seed=5, h_scale=2.0, J_scale=0.5)
    diagonal = evolution.basis_energies(machine) * evolution.normalisation(machine)
    # ||sum_i X_i||_F^2 = N 2^N and ||a E||_F^2 = 2^N a^2 (sum h^2 + sum J^2)
    assert (diagonal**2).sum().item() == pytest.approx(5 * 2**5)
