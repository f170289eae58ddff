"""Simulated quantum annealing against enumeration and exact diagonalisation."""

import math
import unittest

import dimod
import dimod.testing
import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import torch

from qaaan import BoltzmannMachine, ConfigError, samplers, topology
from qaaan.bm import correlation_matrix, random_machine, spin_means
from qaaan.samplers.exact import all_states, boltzmann_distribution
from tests.helpers import quantum_machine

BACKENDS = ["numba", "torch"]


def _deviation(spins, bm, beta=1.0):
    means, correlations = samplers.exact_moments(bm, beta)
    spins = spins.double()
    return max(
        (spin_means(spins) - means).abs().max().item(),
        (correlation_matrix(spins) - correlations).abs().max().item(),
    )


def _constant(s):
    return [(0.0, s), (1.0, s)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_classical_limit_matches_enumeration(backend):
    """At s = 1 there is no transverse field: Boltzmann at beta (std of a moment <= 0.007)."""
    bm = random_machine(topology.complete(8), seed=1, h_scale=0.5, J_scale=0.5)
    sqa = samplers.make(
        "sqa", schedule=_constant(1.0), trotter=4, sweeps=200, seed=0, backend=backend
    )
    assert _deviation(sqa.sample(bm, 20_000), bm) < 0.03


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_spin_in_a_transverse_field(backend):
    """<z> = (s0 h / L) tanh(beta L), L = sqrt((s0 h)^2 + (Gamma0 (1 - s0))^2).

    With beta Gamma / P = 1/16 the Trotter error is O((beta Gamma / P)^2 beta L): measured about
    0.003 at P = 16 (0.63 against 0.628); 4000 reads give a standard deviation of 0.012.
    """
    bm = BoltzmannMachine(nx.empty_graph(1))
    bm.set_parameters(torch.tensor([1.0]), bm.J.detach())
    beta, gamma, s0 = 2.0, 1.0, 0.5
    field = math.sqrt((s0 * 1.0) ** 2 + (gamma * (1 - s0)) ** 2)
    exact = s0 * 1.0 / field * math.tanh(beta * field)
    sqa = samplers.make(
        "sqa", schedule=_constant(s0), beta=beta, gamma=gamma, trotter=16, sweeps=300,
        return_slices="all", seed=0, backend=backend,
    )  # fmt: skip
    assert sqa.sample(bm, 4000).mean().item() == pytest.approx(exact, abs=0.03)


@pytest.mark.parametrize("s0", [0.3, 0.7])
def test_two_spins_against_exact_diagonalisation(s0):
    bm = BoltzmannMachine(topology.complete(2))
    bm.set_parameters(torch.tensor([0.6, -0.3]), torch.tensor([0.8]))
    beta, gamma = 2.0, 1.0
    z, x, one = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]]), np.eye(2)
    z1, z2, x1, x2 = np.kron(z, one), np.kron(one, z), np.kron(x, one), np.kron(one, x)
    problem = -(0.6 * z1 - 0.3 * z2) - 0.8 * z1 @ z2  # Eq. 2 with Pauli-z (Eq. 5)
    hamiltonian = s0 * problem - gamma * (1 - s0) * (x1 + x2)
    rho = scipy.linalg.expm(-beta * hamiltonian)
    rho /= np.trace(rho)
    exact = [np.trace(rho @ z1), np.trace(rho @ z2), np.trace(rho @ z1 @ z2)]
    sqa = samplers.make(
        "sqa", schedule=_constant(s0), beta=beta, gamma=gamma, trotter=16, sweeps=400,
        return_slices="all", seed=0,
    )  # fmt: skip
    spins = sqa.sample(bm, 4000)
    sampled = [spins[:, 0].mean(), spins[:, 1].mean(), (spins[:, 0] * spins[:, 1]).mean()]
    for got, want in zip(sampled, exact, strict=True):
        assert got.item() == pytest.approx(want, abs=0.03)


def test_strong_transverse_field_gives_zero_magnetisation():
    bm = random_machine(topology.complete(8), seed=2, h_scale=0.5, J_scale=0.5)
    sqa = samplers.make("sqa", schedule=_constant(0.02), gamma=5.0, trotter=8, sweeps=100, seed=0)
    assert spin_means(sqa.sample(bm, 4000)).abs().max() < 0.05


def _ground_state(bm):
    states, probabilities = boltzmann_distribution(bm, beta=1.0)
    return states[probabilities.argmax()].float()


def test_reverse_annealing_with_sp_1_keeps_the_state_at_low_temperature():
    bm = random_machine(topology.chimera(16), seed=1, h_scale=1.0, J_scale=1.0)
    ground = _ground_state(bm)
    # every spin is held by a local field of at least 0.6: at beta = 20 a flip has odds e^-24
    assert (ground * (bm.h + bm.coupling_matrix() @ ground)).min() > 0.6
    reverse = [(0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]
    sqa = samplers.make("sqa", schedule=reverse, beta=20.0, initial_state=ground.tolist(), seed=0)
    assert (sqa.sample(bm, 500) == ground).all()
    # a reverse anneal down to sp = 0.2 at beta = 1 does move away from it
    deep = [(0.0, 1.0), (0.5, 0.2), (1.0, 1.0)]
    sqa = samplers.make("sqa", schedule=deep, initial_state=ground.tolist(), seed=0)
    assert (sqa.sample(bm, 500) != ground).any(dim=1).float().mean() > 0.5


def test_persistent_initial_state_continues_from_the_last_call():
    bm = random_machine(topology.chimera(10), seed=4, h_scale=0.5, J_scale=1.0)
    sqa = samplers.make(
        "sqa", schedule=_constant(1.0), beta=50.0, sweeps=5, initial_state="persistent",
        return_slices="all", trotter=8, seed=0,
    )  # fmt: skip
    first = sqa.sample(bm, 200)
    second = sqa.sample(bm, 200)
    assert (first == second).float().mean() > 0.99  # frozen at low temperature: it continues
    fresh = samplers.make("sqa", schedule=_constant(1.0), beta=50.0, sweeps=5, seed=1)
    assert (fresh.sample(bm, 200) == first[::8]).float().mean() < 0.9


def test_return_slices():
    bm = random_machine(topology.chimera(16), seed=0, h_scale=0.5, J_scale=0.5)
    options = {"schedule": _constant(0.5), "trotter": 4, "sweeps": 20, "seed": 3}
    every = samplers.make("sqa", return_slices="all", **options).sample(bm, 50)
    lowest = samplers.make("sqa", return_slices="lowest", **options).sample(bm, 50)
    chosen = samplers.make("sqa", return_slices="random", **options).sample(bm, 50)
    assert every.shape == (200, 16) and lowest.shape == chosen.shape == (50, 16)
    slice_energies = bm.energy(every).reshape(50, 4)
    assert torch.allclose(bm.energy(lowest), slice_energies.min(dim=1).values)
    # a random slice is one of the read's slices
    assert all(any(torch.equal(chosen[r], every[4 * r + k]) for k in range(4)) for r in range(50))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"schedule": [(0, 0), (0.5, 0.5), (0.4, 1), (1, 1)]}, "schedule times must increase"),
        ({"schedule": [(0.1, 0), (1, 1)]}, "schedule times must increase from 0 to 1"),
        ({"schedule": [(0, 0), (1, 1.5)]}, "schedule values s must lie in [0, 1], got [0.0, 1.5]"),
        ({"schedule": "quadratic"}, "schedule must be 'linear' or a list of (t, s) points"),
        ({"schedule": [1, 2, 3]}, "schedule must be 'linear' or a list of (t, s) points"),
        ({"trotter": 3}, "sampler_options.trotter = 3: must be 1 or even"),
        ({"gamma": 0}, "sampler_options.gamma = 0: input should be greater than 0"),
        ({"return_slices": "best"}, "return_slices = 'best': input should be 'random', 'all'"),
        ({"initial_state": [1, 0, 1]}, "initial_state must hold spins of value -1 or +1"),
        ({"initial_state": "previous"}, "initial_state must be None, 'persistent' or spins"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ConfigError) as error:
        samplers.make("sqa", **options)
    assert message in str(error.value)


def test_initial_state_of_the_wrong_size_is_refused():
    sqa = samplers.make("sqa", initial_state=[1, -1, 1])
    with pytest.raises(ConfigError, match=r"initial_state must have N = 4 spins"):
        sqa.sample(BoltzmannMachine(topology.complete(4)), 10)


@dimod.testing.load_sampler_bqm_tests(lambda: samplers.make("sqa", seed=0, sweeps=10, trotter=2))
class TestSQAConformance(unittest.TestCase):
    def test_api(self):
        dimod.testing.assert_sampler_api(samplers.make("sqa"))


def test_mock_dwave_with_an_sqa_device():
    bm = random_machine(topology.chimera(10), seed=1, h_scale=0.5, J_scale=0.1)
    classical = samplers.make(
        "mock-dwave", substitute="sqa", seed=0, device_model=False,
        substitute_options={"schedule": _constant(1.0), "sweeps": 100, "trotter": 2},
    )  # fmt: skip
    assert _deviation(classical.sample(bm, 20_000), bm) < 0.03
    annealer = samplers.make("mock-dwave", substitute="sqa", seed=0, substitute_options={"beta": 5})
    annealed = annealer.sample(bm, 2000)
    exact_mean_energy = (
        boltzmann_distribution(bm)[1] @ bm.energy(boltzmann_distribution(bm)[0].float()).double()
    ).item()
    assert bm.energy(annealed).mean().item() < exact_mean_energy - 1.0


@pytest.mark.parametrize(("family", "num_nodes"), [("complete", 6), ("chimera", 8)])
def test_sqa_at_fixed_gamma_samples_the_exact_quantum_moments(family, num_nodes):
    machine = quantum_machine(topology.make(family, num_nodes), gamma=1.0)
    states = all_states(num_nodes)
    probabilities = machine.distribution(1.0).detach()
    means, correlations = probabilities @ states, states.T @ (probabilities[:, None] * states)
    classical_means, classical_correlations = samplers.exact_moments(machine)
    quantum_effect = max(
        (means - classical_means).abs().max(), (correlations - classical_correlations).abs().max()
    )
    assert quantum_effect > 0.1  # the test could tell a classical sampler from a quantum one
    spins = samplers.make("sqa", seed=0, trotter=8, sweeps=300).sample(machine, 50_000).double()
    deviation = max(
        (spins.mean(0) - means).abs().max().item(),
        ((spins.T @ spins) / len(spins) - correlations).abs().max().item(),
    )
    assert deviation < 0.03


@pytest.mark.cuda
def test_sqa_on_cuda_matches_enumeration_and_exact_diagonalisation():
    """The torch kernel on the GPU: at s = 1 the classical Boltzmann moments, and at a fixed
    Gamma the quantum machine's (exact diagonalisation), as on the CPU."""
    bm = random_machine(topology.complete(8), seed=1, h_scale=0.5, J_scale=0.5).to("cuda")
    sqa = samplers.make("sqa", schedule=_constant(1.0), trotter=4, sweeps=200, seed=0)
    spins = sqa.sample(bm, 20_000)
    assert spins.device.type == "cuda" and sqa.info["backend"] == "torch"
    assert _deviation(spins.cpu(), bm.cpu()) < 0.03
    machine = quantum_machine(topology.complete(6), gamma=1.0)
    states, probabilities = all_states(6), machine.distribution(1.0).detach()
    means = probabilities @ states
    correlations = states.T @ (probabilities[:, None] * states)
    spins = samplers.make("sqa", seed=0, trotter=8, sweeps=300).sample(machine.to("cuda"), 50_000)
    spins = spins.double().cpu()
    assert (spins.mean(0) - means).abs().max() < 0.03
    assert ((spins.T @ spins) / len(spins) - correlations).abs().max() < 0.03
