"""The torch samplers are dimod samplers: dimod's own conformance helpers check them."""

import unittest

import dimod
import dimod.testing
import numpy as np
import pytest
import torch

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine, random_machine
from qaaan.errors import ConfigError
from tests.helpers import quantum_machine


@dimod.testing.load_sampler_bqm_tests(lambda: samplers.make("gibbs", seed=0, sweeps=2, burn_in=5))
class TestGibbsConformance(unittest.TestCase):
    def test_api(self):
        dimod.testing.assert_sampler_api(samplers.make("gibbs"))


@dimod.testing.load_sampler_bqm_tests(lambda: samplers.make("exact", seed=0), max_num_variables=12)
class TestExactConformance(unittest.TestCase):
    def test_api(self):
        dimod.testing.assert_sampler_api(samplers.make("exact"))


def test_sample_ising_gives_our_distribution_through_dimod_labels():
    """sample_ising with string labels: dimod's sign convention, mapped back by label."""
    bm = random_machine(topology.complete(4), seed=5, h_scale=1.0, J_scale=0.5)
    bqm = bm.to_bqm().relabel_variables({i: f"q{i}" for i in range(4)}, inplace=False)
    sampleset = samplers.make("exact", seed=0).sample_ising(
        bqm.linear, bqm.quadratic, num_reads=50_000
    )
    dimod.testing.assert_sampleset_energies(sampleset, bqm)
    means = {v: np.mean(sampleset.record.sample[:, i]) for i, v in enumerate(sampleset.variables)}
    exact = samplers.exact_moments(bm)[0]
    for i in range(4):
        assert means[f"q{i}"] == pytest.approx(exact[i].item(), abs=0.02)


def test_dimod_calls_do_not_disturb_the_persistent_chains():
    bm = random_machine(topology.complete(4), seed=5, h_scale=1.0, J_scale=0.5)
    sampler = samplers.make("gibbs", seed=0)
    before = sampler.sample(bm, 10)
    chains = sampler.chains.spins.clone()
    sampler.sample(bm.to_bqm(), num_reads=3, sweeps=4)
    assert before.shape == (10, 4) and (sampler.chains.spins == chains).all()


def test_building_machines_from_parameters_leaves_torch_global_rng_alone():
    bqm = random_machine(topology.complete(8), seed=0, h_scale=0.1, J_scale=0.1).to_bqm()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    BoltzmannMachine.from_bqm(bqm)
    assert torch.equal(torch.rand(3), expected)


def test_other_samplers_refuse_a_transverse_field_naming_those_that_take_it():
    machine = quantum_machine(topology.chimera(8), gamma=0.5)
    accepting = "Gamma = 0.5 > 0; samplers that accept it: exact-quantum, sqa$"
    with pytest.raises(ConfigError, match=accepting):
        samplers.make("gibbs").sample(machine, 10)
    with pytest.raises(ConfigError, match="sampler 'sa' samples classical machines only"):
        samplers.make("sa").sample(machine, 10)
