"""The device model: temperature, control errors, freeze-out and readout errors, each against
an exact reference or the estimator D-Wave publishes for it."""

import dimod
import dimod.testing
import numpy as np
import pytest
import torch
from dwave.system.temperatures import maximum_pseudolikelihood_temperature

from qaaan import samplers, topology
from qaaan.bm import random_machine
from qaaan.errors import ConfigError
from qaaan.samplers.composites.device import DeviceModel, DeviceModelComposite, Schedule
from qaaan.samplers.dimod_backed import sampleset_to_spins
from tests.helpers import max_deviation, quantum_machine

SCHEDULE = Schedule(s=(0.0, 0.5, 1.0), A=(6.0, 1.0, 0.0), B=(0.0, 2.0, 8.0))  # Gamma(0.5) = 0.5


def machine_bqm(num_nodes=8, seed=1):
    return random_machine(topology.complete(num_nodes), seed, 0.5, 0.5).to_bqm()


def test_api_and_an_ideal_device_changes_nothing():
    rng = np.random.default_rng(0)
    composite = DeviceModelComposite(samplers.make("exact", seed=0), DeviceModel(), rng)
    dimod.testing.assert_composite_api(composite)
    dimod.testing.assert_sampler_api(composite)
    before = rng.bit_generator.state
    bqm = machine_bqm()
    ideal = composite.sample(bqm, num_reads=50, seed=3)
    direct = samplers.make("exact", seed=0).sample(bqm, num_reads=50, seed=3)
    np.testing.assert_array_equal(ideal.record.sample, direct.record.sample)
    assert rng.bit_generator.state == before


@pytest.mark.parametrize("device_beta", [0.5, 2.5])
def test_pseudolikelihood_recovers_the_device_temperature(device_beta):
    """Within 10%, with the control errors of a 2000Q-like device on every call."""
    bqm = machine_bqm()
    model = DeviceModel(device_beta=device_beta, control_error=(0.05, 0.02))
    composite = DeviceModelComposite(
        samplers.make("exact", seed=0), model, np.random.default_rng(0)
    )
    reads = dimod.concatenate([composite.sample(bqm, num_reads=1000) for _ in range(20)])
    temperature, _ = maximum_pseudolikelihood_temperature(bqm=bqm, sampleset=reads)
    assert 1 / temperature == pytest.approx(device_beta, rel=0.10)
    assert composite.sample(bqm, num_reads=1).info["device_beta"] == device_beta


def test_control_errors_have_the_stated_spread_and_change_every_call():
    bqm = machine_bqm()
    tracked = dimod.TrackingComposite(dimod.RandomSampler())
    model = DeviceModel(control_error=(0.05, 0.02))
    composite = DeviceModelComposite(tracked, model, np.random.default_rng(0))
    h_errors, J_errors = [], []
    for _ in range(200):
        composite.sample(bqm, num_reads=1)
        sent = tracked.input["bqm"]
        h_errors.append([sent.linear[v] - bqm.linear[v] for v in bqm.variables])
        J_errors.append([sent.quadratic[e] - bqm.quadratic[e] for e in bqm.quadratic])
    h_errors, J_errors = np.array(h_errors), np.array(J_errors)
    # 1600 and 5600 draws: the sample std is within 5% of sigma with high probability
    assert h_errors.std() == pytest.approx(0.05, rel=0.05) and abs(h_errors.mean()) < 0.005
    assert J_errors.std() == pytest.approx(0.02, rel=0.05) and abs(J_errors.mean()) < 0.002
    assert not np.allclose(h_errors[0], h_errors[1])


@pytest.mark.parametrize("graph", ["complete6", "chimera8"])
def test_freeze_out_samples_the_quantum_machine_at_the_frozen_field(graph):
    """sqa as the device at s* = 0.5 (Gamma = A/B = 0.5) and device_beta 2 against exact
    diagonalisation of exp(-2 (E - 0.5 sum sigma^x)): every <z_i>, <z_i z_j> within 0.03."""
    graphs = {"complete6": topology.complete(6), "chimera8": topology.chimera(8)}
    frozen = quantum_machine(graphs[graph], gamma=0.5)
    model = DeviceModel(device_beta=2.0, freeze_out=0.5, schedule=SCHEDULE)
    sqa = samplers.make("sqa", seed=0, trotter=16, sweeps=200)
    composite = DeviceModelComposite(sqa, model, np.random.default_rng(0))
    reads = composite.sample(frozen.to_bqm(), num_reads=50_000)
    assert reads.info["gamma"] == pytest.approx(0.5)
    spins = torch.as_tensor(sampleset_to_spins(reads, list(range(frozen.num_nodes))))
    assert max_deviation(spins, frozen, beta=2.0) < 0.03
    classical = quantum_machine(graphs[graph], gamma=0.0)
    assert max_deviation(spins, classical, beta=2.0) > 0.06  # the field is visible


def test_readout_flips_each_spin_at_the_stated_rate():
    bqm = dimod.BinaryQuadraticModel({i: -20.0 for i in range(10)}, {}, 0.0, dimod.SPIN)
    model = DeviceModel(readout_error=0.02)
    composite = DeviceModelComposite(
        samplers.make("exact", seed=0), model, np.random.default_rng(0)
    )
    reads = composite.sample(bqm, num_reads=20000)
    flipped = (reads.record.sample == -1).sum() / (20000 * 10)  # the ground state is all +1
    assert flipped == pytest.approx(0.02, rel=0.05)
    np.testing.assert_allclose(reads.record.energy, bqm.energies(reads))


def test_freeze_out_needs_a_device_that_takes_a_transverse_field():
    model = DeviceModel(freeze_out=0.4, schedule=SCHEDULE)
    with pytest.raises(ConfigError, match=r"freeze_out = 0\.4 samples a transverse-field machine"):
        DeviceModelComposite(samplers.make("gibbs"), model, np.random.default_rng(0))
