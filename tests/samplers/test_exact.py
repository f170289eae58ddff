"""Exact Boltzmann sampling by enumeration, the reference of every statistical test."""

import pytest
import torch

from qaaan import BoltzmannMachine, ConfigError, samplers, topology
from qaaan.bm import random_machine
from tests.helpers import GRAPHS, max_deviation


def test_exact_sampler_matches_enumeration():
    bm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.5, J_scale=0.5)
    spins = samplers.make("exact", seed=0).sample(bm, 100_000)  # std of a moment <= 0.0032
    assert max_deviation(spins, bm) < 0.015


@pytest.mark.cuda
def test_exact_sampler_draws_onto_the_machines_gpu():
    bm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.5, J_scale=0.5).to("cuda")
    spins = samplers.make("exact", seed=0).sample(bm, 100_000)
    assert spins.device.type == "cuda"
    assert max_deviation(spins.cpu(), bm.cpu()) < 0.015


def test_exact_refuses_large_machines():
    bm = BoltzmannMachine(topology.complete(21))
    with pytest.raises(ConfigError, match="N <= 20, got N = 21"):
        samplers.make("exact").sample(bm, 1)


def test_unseeded_samplers_are_random_and_seeds_are_bounded():
    bm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.1, J_scale=0.1)
    assert not torch.equal(
        samplers.make("exact").sample(bm, 64), samplers.make("exact").sample(bm, 64)
    )
    with pytest.raises(ConfigError, match="seed = 1180591620717411303424: input should be less"):
        samplers.make("exact", seed=2**70)
