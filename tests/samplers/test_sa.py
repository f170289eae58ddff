"""dwave-samplers simulated annealing behind the sampler interface."""

import pytest
import torch

from qaaan import ConfigError, samplers
from qaaan.bm import random_machine
from tests.helpers import GRAPHS, max_deviation


def test_sa_options_pass_through():
    bm = random_machine(GRAPHS["chimera10"], seed=0, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("sa", beta_range=[1.0, 1.0], num_sweeps=200, seed=0)
    spins = sampler.sample(bm, 20_000)
    assert spins.shape == (20_000, 10) and set(spins.unique().tolist()) == {-1.0, 1.0}
    # constant beta = 1 Metropolis: Boltzmann at beta = 1 (std of a moment <= 0.007)
    assert max_deviation(spins, bm) < 0.03
    # successive calls of a seeded sampler differ (a new seed per call)
    assert not torch.equal(sampler.sample(bm, 50), sampler.sample(bm, 50))


def test_sa_refusals_are_config_errors():
    bm = random_machine(GRAPHS["chimera10"], seed=0, h_scale=0.5, J_scale=0.5)
    with pytest.raises(ConfigError, match="beta_schedule_type = 'foo': input should be 'linear'"):
        samplers.make("sa", beta_schedule_type="foo")
    with pytest.raises(ConfigError, match="SimulatedAnnealingSampler refused its options"):
        samplers.make("sa", beta_schedule_type="custom").sample(bm, 10)  # and no beta_schedule
    with pytest.raises(ConfigError, match="num_reads must be a positive integer, got 0"):
        samplers.make("sa").sample(bm, 0)
