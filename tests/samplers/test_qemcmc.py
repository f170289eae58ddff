"""qemcmc: Metropolis chains with quantum proposals, against exact enumeration."""

import sys

import numpy as np
import pytest
import torch

from qaaan import samplers, topology
from qaaan.bm import random_machine
from qaaan.errors import ConfigError
from qaaan.quantum import evolution
from tests.helpers import max_deviation


@pytest.mark.parametrize(("family", "num_nodes"), [("complete", 6), ("chimera", 8)])
def test_the_chains_sample_eq_3(family, num_nodes):
    machine = random_machine(topology.make(family, num_nodes), seed=7, h_scale=0.5, J_scale=0.6)
    sampler = samplers.make("qemcmc", backend="exact", seed=0, burn_in=100, steps=4)
    spins = torch.cat([sampler.sample(machine, 4000) for _ in range(8)])
    assert max_deviation(spins, machine) < 0.03
    assert 0.05 < sampler.info["acceptance"] < 1


def test_the_primitive_proposes_what_the_exact_path_proposes():
    """From one state, 4000 shots of Qiskit's StatevectorSampler against the product formula's
    column: total variation below 0.05 (its sampling error is about 0.02 here)."""
    machine = random_machine(topology.complete(4), seed=8, h_scale=1.0, J_scale=1.0)
    sampler = samplers.make("qemcmc", seed=1)
    start = torch.tensor([[1.0, -1.0, 1.0, 1.0]])
    sampler.spins = start.repeat(4000, 1)
    proposed = sampler._propose(machine, 0.45, 6.0)
    observed = torch.bincount(evolution.basis_index(proposed), minlength=16).double() / 4000
    energies = evolution.basis_energies(machine)
    scale = (1 - 0.45) * evolution.normalisation(machine)
    exact = evolution.evolve(energies, evolution.basis_index(start), 0.45, scale, 6.0, 0.8)
    distance = 0.5 * (observed - exact[:, 0].abs().square()).abs().sum().item()
    assert distance < 0.05


def test_the_primitive_path_samples_eq_3():
    """Through Qiskit's StatevectorSampler end to end (2500 correlated reads: error ~0.03)."""
    machine = random_machine(topology.complete(3), seed=9, h_scale=0.5, J_scale=0.6)
    sampler = samplers.make("qemcmc", backend="statevector", seed=2, burn_in=30, steps=3)
    spins = torch.cat([sampler.sample(machine, 500) for _ in range(5)])
    assert max_deviation(spins, machine) < 0.06


def test_resume_from_the_state_continues_the_same_chains():
    machine = random_machine(topology.chimera(8), seed=1, h_scale=0.5, J_scale=0.6)
    straight = samplers.make("qemcmc", backend="exact", seed=3, burn_in=2)
    straight.sample(machine, 50)
    state = straight.state_dict()
    expected = straight.sample(machine, 50)
    resumed = samplers.make("qemcmc", backend="exact", seed=99)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.sample(machine, 50), expected)


def test_bad_options_and_machines_are_refused_in_one_line(monkeypatch):
    with pytest.raises(
        ConfigError, match=r"sampler_options.mixing = \[0.5, 1.5\]: must be \(low, high\)"
    ):
        samplers.make("qemcmc", mixing=[0.5, 1.5])
    with pytest.raises(ConfigError, match=r"sampler_options.time = \[3.0, 2.0\]"):
        samplers.make("qemcmc", time=[3.0, 2.0])
    with pytest.raises(ConfigError, match=r"sampler_options.backend = 'gpu'"):
        samplers.make("qemcmc", backend="gpu")
    large = random_machine(topology.chimera(16), seed=0, h_scale=0.5, J_scale=0.5)
    with pytest.raises(ConfigError, match="N <= 12; got N = 16"):
        samplers.make("qemcmc").sample(large, 10)
    monkeypatch.setitem(sys.modules, "qiskit_ibm_runtime", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"backend 'ibm' needs the qiskit_ibm_runtime package"):
        samplers.make("qemcmc", backend="ibm")


def test_aer_runs_the_same_circuits_when_installed():
    pytest.importorskip("qiskit_aer")
    machine = random_machine(topology.complete(3), seed=5, h_scale=0.5, J_scale=0.6)
    sampler = samplers.make("qemcmc", backend="aer", seed=4, burn_in=10, steps=1)
    spins = torch.cat([sampler.sample(machine, 400) for _ in range(6)])
    assert max_deviation(spins, machine) < 0.07
    assert np.isfinite(sampler.info["acceptance"])
