"""The proposal of quantum-enhanced MCMC (Layden et al., Nature 619, 282, 2023).

From the current state s, evolve |s> under

    H' = (1 - g) * a * E(Z) + g * sum_i X_i

for a time t and measure in the z basis: the outcome s' is the proposed move. E is the machine's
energy of Eq. 2 with z_i read as the eigenvalue of Z_i (Qiskit's |0> is z = +1, |1> is z = -1)
and ``a = ||sum_i X_i||_F / ||E||_F = sqrt(N / (sum_i h_i^2 + sum_ij J_ij^2))`` puts both terms on
the same scale, as in the paper.

The evolution is Qiskit's symmetric (second-order Suzuki) product formula with steps of at most
`time_step`: each step is ``exp(-i A dt/2) exp(-i B dt) exp(-i A dt/2)`` with A the diagonal part
and B the transverse part, a symmetric matrix (U^T = U), so ``Q(s'|s) = |<s'|U|s>|^2 = Q(s|s')``
and the Metropolis rule needs no proposal ratio.

Two ways to the same distribution:

- `proposal_circuit`: the Qiskit circuit (state preparation, `PauliEvolutionGate` synthesised by
  `SuzukiTrotter`, measurement) that any Sampler primitive runs: a simulator or a QPU.
- `evolve`: the same product formula applied to many basis states at once in torch (complex128),
  for simulation speed; tested equal to Qiskit's `Operator` of the circuit to 1e-12.

Basis order: index k holds the state whose bit i (qubit i) is 1 where z_i = -1, as in Qiskit.
"""

from __future__ import annotations

import math

import torch
from qiskit import QuantumCircuit
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.quantum_info import SparsePauliOp
from qiskit.synthesis import SuzukiTrotter

from qaaan.bm import BoltzmannMachine


def steps_for(time: float, time_step: float) -> int:
    """Product-formula steps for an evolution of `time` with steps of at most `time_step`."""
    return max(1, math.ceil(time / time_step - 1e-12))


def normalisation(bm: BoltzmannMachine) -> float:
    """The paper's a = ||sum X||_F / ||E||_F over the Pauli coefficients (1 when E is zero)."""
    squares = (bm.h.detach().double() ** 2).sum() + (bm.J.detach().double() ** 2).sum()
    return math.sqrt(bm.num_nodes / squares.item()) if squares > 0 else 1.0


def proposal_operator(bm: BoltzmannMachine, mixing: float) -> SparsePauliOp:
    """H' as a Qiskit operator: the diagonal terms first, then the transverse ones (the order the
    symmetric product formula mirrors)."""
    scale = (1.0 - mixing) * normalisation(bm)
    h = bm.h.detach().double().cpu().tolist()
    J = bm.J.detach().double().cpu().tolist()
    terms = [("Z", [i], -scale * value) for i, value in enumerate(h)]
    terms += [
        ("ZZ", [i, j], -scale * value) for (i, j), value in zip(bm.edges.tolist(), J, strict=True)
    ]
    terms += [("X", [i], mixing) for i in range(bm.num_nodes)]
    return SparsePauliOp.from_sparse_list(terms, num_qubits=bm.num_nodes)


def evolution_circuit(
    bm: BoltzmannMachine, mixing: float, time: float, time_step: float
) -> QuantumCircuit:
    """exp(-i H' t) as Qiskit's symmetric product formula (rz, rzz and rx gates)."""
    gate = PauliEvolutionGate(proposal_operator(bm, mixing), time=time)
    synthesis = SuzukiTrotter(order=2, reps=steps_for(time, time_step), preserve_order=True)
    return synthesis.synthesize(gate)


def proposal_circuit(evolution: QuantumCircuit, spins: torch.Tensor) -> QuantumCircuit:
    """Prepare |s> for the spins s (N,), evolve, measure every qubit."""
    circuit = QuantumCircuit(evolution.num_qubits)
    flipped = torch.nonzero(spins < 0).flatten().tolist()
    if flipped:
        circuit.x(flipped)
    circuit.compose(evolution, inplace=True)
    circuit.measure_all()
    return circuit


def basis_energies(bm: BoltzmannMachine) -> torch.Tensor:
    """E of Eq. 2 for every basis state in Qiskit's order, float64 (2^N,)."""
    states = basis_spins(bm.num_nodes, bm.device)
    h, J = bm.h.detach().double(), bm.J.detach().double()
    pairs = states[:, bm.edges[:, 0]] * states[:, bm.edges[:, 1]]
    return -(states @ h) - pairs @ J


def basis_spins(num_nodes: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The 2^N states in Qiskit's order as float64 spins: bit i set means z_i = -1."""
    codes = torch.arange(2**num_nodes, device=device)
    bits = (codes[:, None] >> torch.arange(num_nodes, device=device)) & 1
    return (1 - 2 * bits).double()


def basis_index(spins: torch.Tensor) -> torch.Tensor:
    """The basis index of each row of spins (Qiskit's order)."""
    bits = (spins < 0).long()
    return (bits << torch.arange(spins.shape[1], device=spins.device)).sum(dim=1)


def evolve(
    energies: torch.Tensor,
    columns: torch.Tensor,
    mixing: float,
    scale: float,
    time: float,
    time_step: float,
) -> torch.Tensor:
    """The product formula of `evolution_circuit` applied to the basis states `columns` (their
    indices): a (2^N, len(columns)) complex128 matrix, column c = U|columns[c]>.

    `energies` are `basis_energies`, `scale` is (1 - mixing) * a. The transverse part of a step,
    exp(-i g dt sum X), is rx(2 g dt) on every qubit: cos(g dt) - i sin(g dt) X, where X on a
    qubit swaps the two halves of that qubit's axis."""
    num_states, count = energies.shape[0], len(columns)
    num_nodes = num_states.bit_length() - 1
    steps = steps_for(time, time_step)
    dt = time / steps
    half_phase = torch.exp(-0.5j * dt * scale * energies.to(torch.complex128))[:, None]
    cosine, sine = math.cos(mixing * dt), math.sin(mixing * dt)
    state = torch.zeros(num_states, count, dtype=torch.complex128, device=energies.device)
    state[columns, torch.arange(count, device=energies.device)] = 1.0
    for _ in range(steps):
        state = state * half_phase
        for qubit in range(num_nodes):  # bit `qubit` of the index: the middle axis of this view
            pairs = state.view(num_states >> (qubit + 1), 2, (1 << qubit) * count)
            state = (cosine * pairs - 1j * sine * pairs.flip(1)).view(num_states, count)
        state = state * half_phase
    return state
