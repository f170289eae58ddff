"""Persistent block Gibbs chains against exact enumeration; gray-box learning with them."""

import pytest
import torch

from qaaan import BoltzmannMachine, samplers, topology
from qaaan.bm import random_machine, spin_means
from tests.helpers import GRAPHS, max_deviation


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("graph", GRAPHS)
def test_gibbs_matches_enumeration(graph, backend):
    """All means and pair correlations within 0.02 of the exact ones (10 x 8000 draws)."""
    bm = random_machine(GRAPHS[graph], seed=1, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("gibbs", sweeps=5, burn_in=50, seed=2, backend=backend)
    spins = torch.cat([sampler.sample(bm, 8000) for _ in range(10)])
    assert max_deviation(spins, bm) < 0.02


def test_gibbs_beta_is_the_inverse_temperature():
    bm = random_machine(GRAPHS["chimera10"], seed=3, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("gibbs", sweeps=5, beta=2.0, seed=0)
    spins = torch.cat([sampler.sample(bm, 8000) for _ in range(10)])
    assert max_deviation(spins, bm, beta=2.0) < 0.02
    assert max_deviation(spins, bm, beta=1.0) > 0.05


def test_gibbs_chains_persist_and_follow_the_machine():
    bm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("gibbs", sweeps=1, burn_in=0, seed=0)
    first = sampler.sample(bm, 5000)
    second = sampler.sample(bm, 5000)
    # one sweep from the previous state: the chains continue, so most spins are kept
    assert (first == second).float().mean() > 0.6
    bm.set_parameters(
        torch.full((8,), 3.0), bm.J.detach()
    )  # the machine moves: the persistent chains follow it within a few sweeps
    for _ in range(3):
        moved = sampler.sample(bm, 5000)
    assert spin_means(moved).min() > 0.9


def test_gibbs_is_reproducible_with_a_seed():
    bm = random_machine(GRAPHS["bipartite8"], seed=0, h_scale=0.5, J_scale=0.5)
    runs = [samplers.make("gibbs", seed=7).sample(bm, 64) for _ in range(2)]
    assert torch.equal(*runs)
    assert not torch.equal(runs[0], samplers.make("gibbs", seed=8).sample(bm, 64))


@pytest.mark.parametrize("model_sampler", ["exact", "gibbs"])
def test_learning_a_known_machine(model_sampler):
    """Gray-box training (complete 8) on samples of a known machine brings L1 from ~5 below 0.6.

    L1 sums 28 pair gaps; with 2000 model samples per step each gap has a noise floor near
    0.02, i.e. about 0.5 in total, so 0.6 means the correlations were learned to the noise.
    """
    graph = topology.complete(8)
    target = random_machine(graph, seed=11, h_scale=0.5, J_scale=0.4)
    data = samplers.make("exact", seed=1).sample(target, 20_000)
    student = BoltzmannMachine(graph, seed=0)
    model = samplers.make(
        model_sampler, seed=2, **({"sweeps": 2} if model_sampler == "gibbs" else {})
    )
    history = [student.update(data, model.sample(student, 2000), lr=0.05)["l1"] for _ in range(300)]
    assert history[0] > 3.0
    assert sum(history[-20:]) / 20 < 0.6


@pytest.mark.cuda
@pytest.mark.parametrize("graph", GRAPHS)
def test_gibbs_on_cuda_matches_enumeration(graph):
    """The torch kernel on the GPU: the same moments as on the CPU, within 0.02 of the exact."""
    bm = random_machine(GRAPHS[graph], seed=1, h_scale=0.5, J_scale=0.5).to("cuda")
    sampler = samplers.make("gibbs", sweeps=5, burn_in=50, seed=2)
    spins = torch.cat([sampler.sample(bm, 8000) for _ in range(10)])
    assert spins.device.type == "cuda" and sampler.info["backend"] == "torch"
    assert max_deviation(spins.cpu(), bm.cpu()) < 0.02
