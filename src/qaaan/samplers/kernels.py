"""Heat-bath sweeps of a path-integral (Suzuki-Trotter) Ising model: the kernel of gibbs and sqa.

Spins ``sigma[k, i, c]`` of P imaginary-time slices k, nodes i and independent chains c have the
log-weight (paper Eq. 2, 5-7 in path-integral form, our sign convention)

    sum_k a * (sum_i h_i s_ki + sum_(i,j) J_ij s_ki s_kj) + J_perp * sum_k sum_i s_ki s_(k+1)i

with ``a = beta s / P`` (the field scale) and ``J_perp = 1/2 ln coth(beta Gamma / P)`` (the slice
coupling, periodic in k). A sweep visits the nodes in colour order; for each node it

1. sets each slice's spin to +1 with probability S(2x) (Eq. 4), x = a f_ki + J_perp (s_(k-1)i +
   s_(k+1)i), where f_ki = h_i + sum_j J_ij s_kj is the node's field in slice k, and
2. proposes to flip the node's whole world line (all slices), a heat-bath move that only the
   problem term sees; it keeps the slices mixing when J_perp is large.

When Gamma = 0 the slices must agree (J_perp is infinite, passed as a negative number): the
world line is then drawn as one spin with field sum_k a f_ki. With P = 1 and beta s = beta this
is exactly the classical Gibbs sampler.

Two implementations of the same sweep:

- `numba_sweeps` (CPU): chains are independent, so each thread takes a block of chains and runs
  every sweep on it; the innermost loops run over chains (SIMD). Random numbers come from one
  xoshiro128+ generator per chain and S(2x) = (1 + tanh x) / 2 uses Eigen's rational tanh (error
  below 1e-6), both vectorisable; torch's CPU generator alone costs more than a whole sweep here.
- `torch_sweeps` (CUDA, or CPU on request): the same moves as tensor operations, one colour
  class of one slice parity at a time (needs P = 1 or P even, so that slices of one parity do
  not touch).
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np
import torch

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError
from qaaan.samplers.base import TorchDimodSampler
from qaaan.topology import colour_classes

CHAINS_PER_BLOCK = 256
Backend = Literal["auto", "numba", "torch"]


@numba.njit(inline="always")
def _tanh(x):
    """Eigen's float32 tanh: a 13/6 rational approximation, clamped where tanh is ±1 in float32."""
    x = min(max(x, np.float32(-7.90531110763549805)), np.float32(7.90531110763549805))
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return p * x / q


@numba.njit(inline="always")
def _uniform(s0, s1, s2, s3, c):
    """The next xoshiro128+ output of chain c as a float32 uniform in [-1, 1)."""
    a0, a1, a2, a3 = s0[c], s1[c], s2[c], s3[c]
    bits = np.uint32(a0 + a3)  # numba widens uint32 sums to 64 bits
    shifted = a1 << np.uint32(9)
    a2 ^= a0
    a3 ^= a1
    a1 ^= a2
    a0 ^= a3
    a2 ^= shifted
    a3 = (a3 << np.uint32(11)) | (a3 >> np.uint32(21))
    s0[c], s1[c], s2[c], s3[c] = a0, a1, a2, a3
    return np.float32(bits >> np.uint32(8)) * np.float32(2.0**-23) - np.float32(1.0)


@numba.njit(parallel=True, fastmath=True, cache=True)
def numba_sweeps(
    spins, h, indptr, neighbours, weights, node_order, field_scales, slice_couplings, rng
):
    """One sweep per entry of field_scales, in place on spins (P, N, C).

    rng (4, C) holds one xoshiro128+ state per chain; slice_couplings < 0 means Gamma = 0.
    """
    num_slices, _, num_chains = spins.shape
    num_blocks = (num_chains + CHAINS_PER_BLOCK - 1) // CHAINS_PER_BLOCK
    for block in numba.prange(num_blocks):
        lo = block * CHAINS_PER_BLOCK
        width = min(num_chains, lo + CHAINS_PER_BLOCK) - lo
        s0, s1 = rng[0, lo : lo + width], rng[1, lo : lo + width]
        s2, s3 = rng[2, lo : lo + width], rng[3, lo : lo + width]
        field = np.empty((num_slices, width), np.float32)
        total = np.empty(width, np.float32)
        for sweep in range(field_scales.shape[0]):
            scale = field_scales[sweep]
            coupling = slice_couplings[sweep]
            for i in node_order:
                for k in range(num_slices):
                    row = field[k]
                    row[:] = h[i]
                    for p in range(indptr[i], indptr[i + 1]):
                        neighbour = spins[k, neighbours[p], lo : lo + width]
                        w = weights[p]
                        for c in range(width):
                            row[c] += w * neighbour[c]
                if coupling < 0:  # Gamma = 0: the world line is one spin
                    total[:] = 0
                    for k in range(num_slices):
                        for c in range(width):
                            total[c] += field[k, c]
                    for c in range(width):
                        u = _uniform(s0, s1, s2, s3, c)
                        total[c] = (
                            np.float32(1.0) if u < _tanh(scale * total[c]) else np.float32(-1.0)
                        )
                    for k in range(num_slices):
                        own = spins[k, i, lo : lo + width]
                        for c in range(width):
                            own[c] = total[c]
                    continue
                for k in range(num_slices):
                    own = spins[k, i, lo : lo + width]
                    before = spins[(k - 1) % num_slices, i, lo : lo + width]
                    after = spins[(k + 1) % num_slices, i, lo : lo + width]
                    pull = coupling if num_slices > 1 else np.float32(0.0)
                    for c in range(width):
                        x = scale * field[k, c] + pull * (before[c] + after[c])
                        u = _uniform(s0, s1, s2, s3, c)
                        own[c] = np.float32(1.0) if u < _tanh(x) else np.float32(-1.0)
                # world-line flip: the slice coupling is unchanged, the problem term changes by -2m
                total[:] = 0
                for k in range(num_slices):
                    for c in range(width):
                        total[c] += spins[k, i, lo + c] * field[k, c]
                for c in range(width):
                    u = _uniform(s0, s1, s2, s3, c)
                    total[c] = np.float32(-1.0) if u < -_tanh(scale * total[c]) else np.float32(1.0)
                for k in range(num_slices):
                    own = spins[k, i, lo : lo + width]
                    for c in range(width):
                        own[c] *= total[c]


def neighbour_lists(edges: torch.Tensor, couplings: torch.Tensor, num_nodes: int):
    """CSR adjacency: indptr (N+1,), neighbours and weights (2E,) as numpy arrays."""
    edges = edges.cpu().numpy()
    couplings = couplings.detach().cpu().numpy().astype(np.float32)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    order = np.argsort(rows, kind="stable")
    neighbours = np.concatenate([edges[:, 1], edges[:, 0]])[order]
    weights = np.concatenate([couplings, couplings])[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=num_nodes))])
    return indptr.astype(np.int64), neighbours.astype(np.int64), weights


def _heat_bath(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """±1 with P(+1) = S(2x) (Eq. 4)."""
    uniform = torch.rand(x.shape, generator=generator, device=x.device)
    return torch.where(uniform < torch.sigmoid(2 * x), 1.0, -1.0)


def torch_sweeps(
    spins: torch.Tensor,
    h: torch.Tensor,
    coupling_matrix: torch.Tensor,
    colour_blocks: list[torch.Tensor],
    field_scales: list[float],
    slice_couplings: list[float],
    generator: torch.Generator,
) -> None:
    """The sweeps of `numba_sweeps` as tensor operations, in place on spins (P, N, C)."""
    num_slices = spins.shape[0]
    parities = [torch.arange(p, num_slices, 2, device=spins.device) for p in range(2)]
    if num_slices == 1:
        parities = parities[:1]
    for scale, coupling in zip(field_scales, slice_couplings, strict=True):
        for block in colour_blocks:
            field = torch.einsum("bn,knc->kbc", coupling_matrix[block], spins) + h[block, None]
            if coupling < 0:
                spins[:, block] = _heat_bath(scale * field.sum(dim=0), generator).expand_as(field)
                continue
            for slices in parities:
                neighbours = spins[(slices - 1) % num_slices][:, block]
                neighbours = neighbours + spins[(slices + 1) % num_slices][:, block]
                pull = coupling if num_slices > 1 else 0.0
                x = scale * field[slices] + pull * neighbours
                spins[slices[:, None], block[None, :]] = _heat_bath(x, generator)
            alignment = (spins[:, block] * field).sum(dim=0)
            flip = _heat_bath(-scale * alignment, generator)  # +1: flip the world line
            spins[:, block] *= torch.where(flip > 0, -1.0, 1.0)


def backend_for(backend: str, device: torch.device) -> str:
    """'auto' is numba on the CPU and torch elsewhere; numba needs the CPU."""
    on_cpu = device.type == "cpu"
    if backend == "numba" and not on_cpu:
        raise ConfigError(f"backend 'numba' runs on the CPU only, the machine is on {device}")
    if backend == "auto":
        return "numba" if on_cpu else "torch"
    return backend


class Chains:
    """Spins (P, N, C) of C independent chains, with their random-number state."""

    def __init__(self, spins: torch.Tensor, numpy_rng: np.random.Generator):
        self.spins = spins.to(torch.float32).contiguous()
        num_chains = spins.shape[2]
        self.xoshiro_state = numpy_rng.integers(1, 2**32, size=(4, num_chains), dtype=np.uint32)
        self.torch_rng = torch.Generator(device=spins.device)
        self.torch_rng.manual_seed(int(numpy_rng.integers(2**62)))

    def state_dict(self) -> dict:
        return {
            "device": str(self.spins.device),
            "spins": self.spins.cpu(),
            "xoshiro": torch.from_numpy(self.xoshiro_state.astype(np.int64)),
            "torch_rng": self.torch_rng.get_state(),
        }

    @classmethod
    def from_state(cls, state: dict) -> Chains:
        """Chains as saved, on the device they ran on."""
        device = torch.device(state["device"])
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("the saved chains ran on CUDA, and no CUDA device is available")
        chains = cls.__new__(cls)
        chains.spins = state["spins"].to(device, torch.float32).contiguous()
        chains.xoshiro_state = state["xoshiro"].numpy().astype(np.uint32)
        chains.torch_rng = torch.Generator(device=device)
        chains.torch_rng.set_state(state["torch_rng"])
        return chains

    @classmethod
    def random(
        cls, shape: tuple[int, int, int], device: torch.device, numpy_rng: np.random.Generator
    ) -> Chains:
        bits = numpy_rng.integers(0, 2, size=shape)
        return cls(torch.as_tensor(2.0 * bits - 1.0, device=device), numpy_rng)

    def sweep(
        self,
        bm: BoltzmannMachine,
        colours: list[list[int]],
        field_scales: list[float],
        slice_couplings: list[float],
        backend: str,
    ) -> None:
        """One sweep per field scale (see the module docstring), in place."""
        if not field_scales or bm.num_nodes == 0:
            return
        if backend_for(backend, bm.device) == "numba":
            numba_sweeps(
                self.spins.numpy(),
                bm.h.detach().cpu().numpy().astype(np.float32),
                *neighbour_lists(bm.edges, bm.J, bm.num_nodes),
                np.concatenate(colours).astype(np.int64),
                np.asarray(field_scales, dtype=np.float32),
                np.asarray(slice_couplings, dtype=np.float32),
                self.xoshiro_state,
            )
        else:
            blocks = [torch.tensor(c, device=bm.device) for c in colours]
            torch_sweeps(
                self.spins,
                bm.h,
                bm.coupling_matrix(),
                blocks,
                field_scales,
                slice_couplings,
                self.torch_rng,
            )


class ChainSampler(TorchDimodSampler):
    """A torch sampler whose state is its chains and a numpy generator (`gibbs`, `sqa`)."""

    def __init__(self, **options):
        super().__init__(**options)
        self.numpy_rng = np.random.default_rng(self.options.seed)
        self.chains: Chains | None = None
        self._coloured: tuple = (None, [])  # (graph, its colour classes), computed once per graph

    def colours(self, bm: BoltzmannMachine) -> list[list[int]]:
        """The colour classes of the machine's graph, the order of a sweep."""
        if self._coloured[0] is not bm.graph:
            self._coloured = (bm.graph, colour_classes(bm.graph))
        return self._coloured[1]

    def state_dict(self) -> dict:
        return {
            **super().state_dict(),
            "numpy_rng": self.numpy_rng.bit_generator.state,
            "chains": None if self.chains is None else self.chains.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.numpy_rng.bit_generator.state = state["numpy_rng"]
        chains = state["chains"]
        self.chains = None if chains is None else Chains.from_state(chains)
