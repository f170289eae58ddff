"""Latent priors: the Boltzmann machine's sampler, seeded per rank."""

import torch
from typer.testing import CliRunner

from qaaan import priors
from tests.helpers import tiny

runner = CliRunner()


def test_each_rank_samples_with_its_own_seed_even_at_the_largest_seed(tmp_path):
    settings = tiny(tmp_path, seed=2**63 - 1)
    draws = []
    for rank in (0, 1):
        prior = priors.make(settings, torch.device("cpu"), rank=rank)
        draws.append(prior.sampler.sample(prior.bm, 64))
    assert draws[0].shape == (64, settings.latent) and not torch.equal(draws[0], draws[1])
