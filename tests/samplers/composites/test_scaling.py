"""h and J are divided into the device's ranges when they exceed them, and only then."""

import dimod
import dimod.testing
import numpy as np
import pytest

from qaaan.samplers.composites.scaling import RangeScaleComposite, scale_factor

RANGES = {"h_range": [-2.0, 2.0], "j_range": [-1.0, 1.0]}


def test_api(device):
    sampler = RangeScaleComposite(device)
    dimod.testing.assert_composite_api(sampler)
    dimod.testing.assert_sampler_api(sampler)


def test_parameters_that_fit_are_not_rescaled_unless_asked():
    bqm = dimod.BinaryQuadraticModel({0: 0.5}, {(0, 1): -0.25}, 0.0, dimod.SPIN)
    assert scale_factor(bqm, RANGES, auto_scale=False) == 1.0
    assert scale_factor(bqm, RANGES, auto_scale=True) == pytest.approx(0.25)


def test_the_largest_ratio_to_its_range_sets_the_scale():
    bqm = dimod.BinaryQuadraticModel({0: 3.0}, {(0, 1): -2.5}, 0.0, dimod.SPIN)
    assert scale_factor(bqm, RANGES, auto_scale=False) == pytest.approx(2.5)  # J: 2.5 / 1
    assert scale_factor(dimod.BinaryQuadraticModel("SPIN"), RANGES, auto_scale=True) == 1.0


def test_the_device_gets_the_model_divided_and_energies_come_back_in_its_units(device):
    """The mock's h_range is [-4, 4]: h = 10 is divided by 2.5, J = -0.5 with it."""
    bqm = dimod.BinaryQuadraticModel({0: 10.0, 4: -1.0}, {(0, 4): -0.5}, 1.0, dimod.SPIN)
    tracked = dimod.TrackingComposite(device)
    sampleset = RangeScaleComposite(tracked).sample(bqm, num_reads=20)
    assert sampleset.info["scale"] == pytest.approx(2.5)
    sent = tracked.input["bqm"]
    assert sent.linear[0] == pytest.approx(4.0) and sent.quadratic[0, 4] == pytest.approx(-0.2)
    np.testing.assert_allclose(sampleset.record.energy, bqm.energies(sampleset))
