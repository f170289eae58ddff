"""The effective inverse temperature of samples (Eq. 8)."""

import pytest
import torch

from qaaan import BoltzmannMachine, ConfigError, samplers, topology
from qaaan.bm import random_machine
from qaaan.temperature import effective_beta

BACKENDS = ["numba", "torch"]


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_effective_beta_recovers_the_beta_of_exact_samples(beta):
    bm = random_machine(topology.chimera(16), seed=0, h_scale=0.5, J_scale=0.5)
    estimate = effective_beta(bm, samplers.make("exact", beta=beta, seed=0).sample(bm, 5000))
    assert estimate.beta == pytest.approx(beta, rel=0.1)
    assert estimate.low < estimate.beta < estimate.high


def test_effective_beta_refuses_misshapen_samples():
    bm = BoltzmannMachine(topology.complete(4))
    with pytest.raises(ConfigError, match=r"spins must have shape \(num_samples >= 2, 4\)"):
        effective_beta(bm, torch.ones(10, 5))
