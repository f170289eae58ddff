"""The quantum circuit Born machine of the quantum-assisted associative adversarial network
(QC-AAN: Rudolph et al., Phys. Rev. X 12, 031010, 2022).

A parameterised circuit on n qubits (Qiskit's `n_local`: RY and RZ on every qubit, CZ between
neighbours on a line, `depth` repetitions and a last rotation layer) prepares |psi(theta)>. The
latent is read out in two bases, each from its own preparation: a z-basis measurement gives n
bits with P_z(b) = |<b|psi>|^2 and an x-basis measurement (Hadamards, then z) n more with
P_x(b) = |<b|H^n|psi>|^2, so n qubits give a latent of 2n spins (bit 1 is spin -1). The
machine is trained to match the discriminator's sign-binarised features: the first n to P_z,
the last n to P_x.

Losses between the exact distributions and the batch's empirical ones q:

- ``mmd``: squared maximum mean discrepancy with a mixture of Gaussian kernels on the Hamming
  distance, ``k(x, y) = mean_sigma exp(-d(x, y) / (2 sigma))``. Each kernel is a product over
  bits, so ``K v`` is a 2 x 2 matrix applied on every qubit's axis: exact in O(n 2^n).
- ``kl``: KL(q || P), the data's cross-entropy less its entropy (P floored at 1e-12).

Gradients are exact, either by differentiating the state vector (torch autograd through
`simulate`, which runs the Qiskit circuit's gates in torch) or by the parameter-shift rule on
probabilities from Qiskit's `Statevector` of the shifted circuits (what a QPU would evaluate):
``dP/dtheta_k = (P(theta + pi/2 e_k) - P(theta - pi/2 e_k)) / 2`` for the rotation gates here.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit.library import n_local
from qiskit.quantum_info import Statevector
from torch import nn

BANDWIDTHS = (0.25, 1.0, 4.0)  # of the MMD kernels, in units of the Hamming distance
FLOOR = 1e-12  # the smallest probability the KL loss takes a logarithm of


def ansatz(qubits: int, depth: int) -> QuantumCircuit:
    """The hardware-efficient circuit: `depth` blocks of RY, RZ and a line of CZ, then RY, RZ."""
    return n_local(qubits, ["ry", "rz"], "cz", "linear", reps=depth)


def _one_qubit(state: torch.Tensor, qubit: int, matrix: torch.Tensor) -> torch.Tensor:
    """`matrix` (2 x 2) applied to `qubit` (bit `qubit` of the index) of `state` (2^n,)."""
    pairs = state.view(-1, 2, 1 << qubit)
    return torch.einsum("ab,ibj->iaj", matrix, pairs).reshape(-1)


def rotation_matrices(kinds: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Qiskit's ry, rz or rx matrix (kind 0, 1, 2 in `ROTATIONS` order) of every angle at once:
    (P, 2, 2) complex128, differentiable in the angles."""
    half = angles.to(torch.complex128) / 2
    cosine, sine, phase = torch.cos(half), torch.sin(half), torch.exp(-1j * half)
    zero = torch.zeros_like(half)
    ry = torch.stack((cosine, -sine, sine, cosine), dim=1)
    rz = torch.stack((phase, zero, zero, phase.conj()), dim=1)
    rx = torch.stack((cosine, -1j * sine, -1j * sine, cosine), dim=1)
    kind = kinds.to(angles.device)[:, None]
    return torch.where(kind == 0, ry, torch.where(kind == 1, rz, rx)).view(-1, 2, 2)


HADAMARD = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.complex128) / math.sqrt(2)
ROTATIONS = ("ry", "rz", "rx")


def compile_circuit(circuit: QuantumCircuit) -> list[tuple]:
    """The circuit's gates as steps that `simulate` runs fast: each qubit's consecutive
    rotations merged into one 2 x 2 matrix (``("rotate", qubit, [parameter indices])``)
    and each run of CZ gates merged into one diagonal of signs (``("signs", vector)``). Gates on
    different qubits commute, so a rotation waits for the next CZ on its qubit or the end."""
    index = {parameter: k for k, parameter in enumerate(circuit.parameters)}
    codes = torch.arange(2**circuit.num_qubits)
    steps, pending, signs = [], {}, None

    def flush_rotations(qubits):
        for qubit in qubits:
            if pending.get(qubit):
                steps.append(("rotate", qubit, pending.pop(qubit)))

    for instruction in circuit.data:
        name = instruction.operation.name
        qubits = [circuit.find_bit(qubit).index for qubit in instruction.qubits]
        if name in ROTATIONS:
            if signs is not None:
                steps.append(("signs", signs))
                signs = None
            pending.setdefault(qubits[0], []).append(index[instruction.operation.params[0]])
        elif name == "cz":
            flush_rotations(qubits)
            both = ((codes >> qubits[0]) & 1) & ((codes >> qubits[1]) & 1)
            flip = (1 - 2 * both).to(torch.complex128)
            signs = flip if signs is None else signs * flip
        else:
            raise ValueError(f"gate {name!r} is not simulated here (ry, rz, rx, cz are)")
    flush_rotations(sorted(pending))
    if signs is not None:
        steps.append(("signs", signs))
    return steps


def rotation_kinds(circuit: QuantumCircuit) -> torch.Tensor:
    """The kind (index in `ROTATIONS`) of the gate of each parameter, in parameter order."""
    kinds = {}
    for instruction in circuit.data:
        if instruction.operation.name in ROTATIONS:
            kind = ROTATIONS.index(instruction.operation.name)
            kinds[instruction.operation.params[0]] = kind
    return torch.tensor([kinds[parameter] for parameter in circuit.parameters])


def simulate(
    steps: list[tuple], kinds: torch.Tensor, num_qubits: int, angles: torch.Tensor
) -> torch.Tensor:
    """The state vector (2^n,) complex128 of a compiled circuit (`compile_circuit`) from
    |0...0>, its parameters bound to `angles` in `circuit.parameters` order (Qiskit's index
    order: bit i is qubit i)."""
    matrices = rotation_matrices(kinds, angles)
    state = torch.zeros(2**num_qubits, dtype=torch.complex128, device=angles.device)
    state[0] = 1.0
    for step in steps:
        if step[0] == "signs":
            state = state * step[1].to(angles.device)
            continue
        _, qubit, parameters = step
        matrix = matrices[parameters[0]]
        for parameter in parameters[1:]:
            matrix = matrices[parameter] @ matrix  # the later gate on the left
        state = _one_qubit(state, qubit, matrix)
    return state


def readout(state: torch.Tensor, qubits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """P_z and P_x (each (2^n,) float64) of a state vector."""
    rotated = state
    for qubit in range(qubits):
        rotated = _one_qubit(rotated, qubit, HADAMARD.to(state.device))
    return state.abs().square(), rotated.abs().square()


def bits_to_spins(indices: torch.Tensor, qubits: int) -> torch.Tensor:
    """Basis indices (count,) as spins (count, n): bit i set is spin -1."""
    bits = (indices[:, None] >> torch.arange(qubits, device=indices.device)) & 1
    return (1 - 2 * bits).float()


def spins_to_indices(spins: torch.Tensor) -> torch.Tensor:
    """Rows of spins (count, n) as basis indices (count,)."""
    bits = (spins < 0).long()
    return (bits << torch.arange(spins.shape[1], device=spins.device)).sum(dim=1)


def empirical(spins: torch.Tensor) -> torch.Tensor:
    """The histogram (2^n,) float64 of rows of spins."""
    counts = torch.bincount(spins_to_indices(spins), minlength=2 ** spins.shape[1])
    return counts.double() / len(spins)


def kernel_times(vector: torch.Tensor, qubits: int) -> torch.Tensor:
    """K v for the kernel mixture of `mmd`: each kernel a 2 x 2 matrix on every qubit's axis."""
    total = torch.zeros_like(vector)
    for bandwidth in BANDWIDTHS:
        off = math.exp(-1.0 / (2.0 * bandwidth))
        product = vector
        for qubit in range(qubits):
            pairs = product.view(-1, 2, 1 << qubit)
            zero, one = pairs[:, 0], pairs[:, 1]
            product = torch.stack((zero + off * one, off * zero + one), 1).view(-1)
        total = total + product
    return total / len(BANDWIDTHS)


def divergence(model: torch.Tensor, data: torch.Tensor, loss: str, qubits: int) -> torch.Tensor:
    """The loss (`mmd` or `kl`) between a model distribution and an empirical one, both (2^n,)."""
    if loss == "mmd":
        gap = model - data
        return gap @ kernel_times(gap, qubits)
    seen = data > 0
    return (data[seen] * (data[seen].log() - model[seen].clamp_min(FLOOR).log())).sum()


class BornMachine(nn.Module):
    """The circuit's angles ``theta`` (a parameter), its distributions and its losses."""

    def __init__(self, qubits: int, depth: int, seed: int | None = None):
        super().__init__()
        self.qubits, self.depth = qubits, depth
        self.circuit = ansatz(qubits, depth)
        self.steps, self.kinds = compile_circuit(self.circuit), rotation_kinds(self.circuit)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        # small angles: the first state is near |0...0>, the x readout near uniform; a spread
        # of pi/8 breaks the symmetry without starting on a barren plateau
        angles = math.pi / 8 * torch.randn(self.circuit.num_parameters, generator=generator)
        self.theta = nn.Parameter(angles.double())

    def distributions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """P_z and P_x, differentiable in theta."""
        return readout(simulate(self.steps, self.kinds, self.qubits, self.theta), self.qubits)

    def sample(self, count: int, generator: torch.Generator) -> torch.Tensor:
        """`count` latents (count, 2n) of ±1: z readout, then x readout, drawn independently."""
        with torch.no_grad():
            halves = [
                bits_to_spins(
                    torch.multinomial(p.cpu(), count, True, generator=generator), self.qubits
                )
                for p in self.distributions()
            ]
        return torch.cat(halves, dim=1)

    def loss(self, data_spins: torch.Tensor, loss: str) -> torch.Tensor:
        """Loss of P_z against the first n columns of the data and of P_x against the rest."""
        data_z, data_x = data_spins[:, : self.qubits], data_spins[:, self.qubits :]
        model_z, model_x = self.distributions()
        return divergence(model_z, empirical(data_z).to(model_z), loss, self.qubits) + divergence(
            model_x, empirical(data_x).to(model_x), loss, self.qubits
        )

    def parameter_shift_gradient(self, data_spins: torch.Tensor, loss: str) -> torch.Tensor:
        """d loss / d theta by the parameter-shift rule: each probability's derivative from the
        circuit at theta +- pi/2 (Qiskit's `Statevector`), chained with d loss / d P."""
        model = [p.detach().requires_grad_() for p in self._qiskit_distributions(self.theta)]
        data = (data_spins[:, : self.qubits], data_spins[:, self.qubits :])
        value = sum(
            divergence(p, empirical(d).to(p), loss, self.qubits)
            for p, d in zip(model, data, strict=True)
        )
        loss_gradients = torch.autograd.grad(value, model)
        gradient = torch.zeros_like(self.theta)
        for k in range(len(gradient)):
            shift = torch.zeros_like(self.theta)
            shift[k] = math.pi / 2
            plus = self._qiskit_distributions(self.theta.detach() + shift)
            minus = self._qiskit_distributions(self.theta.detach() - shift)
            gradient[k] = sum(
                (g * (p - m) / 2).sum() for g, p, m in zip(loss_gradients, plus, minus, strict=True)
            )
        return gradient

    def _qiskit_distributions(self, angles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """P_z and P_x from Qiskit's `Statevector` of the bound circuit (float64)."""
        bound = self.circuit.assign_parameters(angles.detach().cpu().numpy())
        rotated = bound.copy()
        rotated.h(range(self.qubits))
        return tuple(
            torch.as_tensor(np.asarray(Statevector(c).probabilities()), dtype=torch.float64)
            for c in (bound, rotated)
        )
