"""Persistent-chain Gibbs sampling, the paper's classical MCMC (section 4.2, Eq. 4).

A spin is set to +1 with probability ``S(2 beta (h_i + sum_j J_ij z_j))`` (Eq. 4) given its
neighbours. Spins of one colour class (`qaaan.topology.colour_classes`) share no edge, so a sweep
updates the classes one after another: two blocks on bipartite and Chimera graphs, one site at a
time on a complete graph. Chains persist between calls and follow the machine as it is trained
(persistent contrastive divergence); ``sample(bm, n)`` runs n chains, and a new n, N or device
starts fresh chains with ``burn_in`` sweeps.

Two kernels, both tested against exact enumeration:

- ``numba`` (CPU): chains are independent, so each thread takes a block of chains and runs all
  sweeps on it; the innermost loop runs over chains and is vectorised (SIMD). Random numbers come
  from one xoshiro128+ generator per chain, and S(2x) = (1 + tanh x) / 2 uses Eigen's rational
  tanh (error below 1e-6), both vectorisable; torch's CPU random numbers alone would cost more
  than the whole sweep (measured in ``benchmarks/samplers.py``).
- ``torch`` (CUDA, or CPU on request): the same updates as block matrix products per colour class.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from qaaan.bm import BoltzmannMachine
from qaaan.errors import (
    ConfigError,
    check_choice,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from qaaan.samplers.base import TorchDimodSampler
from qaaan.topology import colour_classes

BACKENDS = ("auto", "numba", "torch")
CHAINS_PER_BLOCK = 256


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


@numba.njit(parallel=True, fastmath=True, cache=True)
def _numba_sweeps(spins, h, indptr, neighbours, weights, node_order, beta, rng, sweeps):
    """`sweeps` Gibbs sweeps in place on spins (N, C); rng (4, C) holds xoshiro128+ states."""
    num_chains = spins.shape[1]
    num_blocks = (num_chains + CHAINS_PER_BLOCK - 1) // CHAINS_PER_BLOCK
    for block in numba.prange(num_blocks):
        lo = block * CHAINS_PER_BLOCK
        hi = min(num_chains, lo + CHAINS_PER_BLOCK)
        field = np.empty(hi - lo, np.float32)
        s0, s1, s2, s3 = rng[0, lo:hi], rng[1, lo:hi], rng[2, lo:hi], rng[3, lo:hi]
        for _ in range(sweeps):
            for i in node_order:
                field[:] = h[i]
                for p in range(indptr[i], indptr[i + 1]):
                    neighbour_spins = spins[neighbours[p], lo:hi]
                    w = weights[p]
                    for c in range(hi - lo):
                        field[c] += w * neighbour_spins[c]
                own = spins[i, lo:hi]
                for c in range(hi - lo):
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
                    # uniform in [-1, 1); z = +1 with probability (1 + tanh(beta f)) / 2
                    u = np.float32(bits >> np.uint32(8)) * np.float32(2.0**-23) - np.float32(1.0)
                    own[c] = np.float32(1.0) if u < _tanh(beta * field[c]) else np.float32(-1.0)


def neighbour_lists(bm: BoltzmannMachine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR adjacency of the machine: indptr (N+1,), neighbours and weights (2E,)."""
    edges = bm.edges.cpu().numpy()
    couplings = bm.J.detach().cpu().numpy().astype(np.float32)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    order = np.argsort(rows, kind="stable")
    neighbours = np.concatenate([edges[:, 1], edges[:, 0]])[order]
    weights = np.concatenate([couplings, couplings])[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=bm.num_nodes))])
    return indptr.astype(np.int64), neighbours.astype(np.int64), weights


class GibbsSampler(TorchDimodSampler):
    """Persistent block Gibbs chains. Options: sweeps, burn_in, beta, seed, backend."""

    name = "gibbs"

    def __init__(
        self,
        *,
        sweeps: int = 1,
        burn_in: int = 100,
        beta: float = 1.0,
        seed: int | None = None,
        backend: str = "auto",
    ):
        self.sweeps = check_positive_int("sweeps", sweeps)
        self.burn_in = check_nonnegative_int("burn_in", burn_in)
        self.beta = check_positive_float("beta", beta)
        self.backend = check_choice("backend", backend, BACKENDS)
        super().__init__(
            sweeps=self.sweeps,
            burn_in=self.burn_in,
            beta=self.beta,
            seed=check_seed(seed),
            backend=self.backend,
        )
        self.numpy_rng = np.random.default_rng(seed)
        self.spins: torch.Tensor | None = None  # (N, num_chains), node-major, on bm.device
        self._colour_graph = None
        self._colours: list[list[int]] = []

    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        spins = self.spins
        if spins is None or spins.shape != (bm.num_nodes, num_reads) or spins.device != bm.device:
            self._start_chains(bm, num_reads)
            self._run(bm, self.burn_in)
        self._run(bm, self.sweeps)
        self.info = {"sweeps": self.sweeps, "backend": self._backend_for(bm)}
        return self.spins.T.contiguous()

    def _start_chains(self, bm: BoltzmannMachine, num_chains: int) -> None:
        random_bits = self.numpy_rng.integers(0, 2, size=(bm.num_nodes, num_chains))
        self.spins = torch.as_tensor(2.0 * random_bits - 1.0, dtype=torch.float32, device=bm.device)
        self.xoshiro_state = self.numpy_rng.integers(
            1, 2**32, size=(4, num_chains), dtype=np.uint32
        )
        self.torch_rng = torch.Generator(device=bm.device)
        self.torch_rng.manual_seed(int(self.numpy_rng.integers(2**62)))

    def _backend_for(self, bm: BoltzmannMachine) -> str:
        on_cpu = bm.device.type == "cpu"
        if self.backend == "numba" and not on_cpu:
            raise ConfigError(
                f"backend 'numba' runs on the CPU only, the machine is on {bm.device}"
            )
        if self.backend == "auto":
            return "numba" if on_cpu else "torch"
        return self.backend

    def _colour_order(self, bm: BoltzmannMachine) -> list[list[int]]:
        if self._colour_graph is not bm.graph:
            self._colour_graph, self._colours = bm.graph, colour_classes(bm.graph)
        return self._colours

    def _run(self, bm: BoltzmannMachine, sweeps: int) -> None:
        if sweeps == 0 or bm.num_nodes == 0:
            return
        if self._backend_for(bm) == "numba":
            self._run_numba(bm, sweeps)
        else:
            self._run_torch(bm, sweeps)

    def _run_numba(self, bm: BoltzmannMachine, sweeps: int) -> None:
        indptr, neighbours, weights = neighbour_lists(bm)
        node_order = np.concatenate(self._colour_order(bm)).astype(np.int64)
        h = bm.h.detach().cpu().numpy().astype(np.float32)
        _numba_sweeps(
            self.spins.numpy(),
            h,
            indptr,
            neighbours,
            weights,
            node_order,
            np.float32(self.beta),
            self.xoshiro_state,
            sweeps,
        )

    def _run_torch(self, bm: BoltzmannMachine, sweeps: int) -> None:
        coupling = bm.coupling_matrix()
        blocks = [torch.tensor(c, device=bm.device) for c in self._colour_order(bm)]
        spins = self.spins
        for _ in range(sweeps):
            for block in blocks:
                field = coupling[block] @ spins + bm.h[block, None]
                uniform = torch.rand(field.shape, generator=self.torch_rng, device=bm.device)
                up = uniform < torch.sigmoid(2 * self.beta * field)
                spins[block] = torch.where(up, 1.0, -1.0)
