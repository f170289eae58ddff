"""The device's grouped reads come back one per row, in random order."""

import dimod
import dimod.testing
import numpy as np

from qaaan.samplers.composites.reads import ShuffledReadsComposite


def _two_spins() -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel({0: 0.0, 4: 0.0}, {(0, 4): 0.0}, 0.0, dimod.SPIN)


def test_api(device):
    sampler = ShuffledReadsComposite(device, np.random.default_rng(0))
    dimod.testing.assert_composite_api(sampler)
    dimod.testing.assert_sampler_api(sampler)


def test_grouped_reads_come_back_one_per_row_in_random_order(device):
    """Two free spins: the device groups 2000 reads into 4 rows; in place they would sit in 4
    runs (1996 equal neighbours), shuffled about a quarter of the neighbours are equal."""
    grouped = device.sample(_two_spins(), num_reads=2000)
    assert len(grouped) == 4
    sampleset = ShuffledReadsComposite(device, np.random.default_rng(0)).sample(
        _two_spins(), num_reads=2000
    )
    samples = sampleset.record.sample
    assert len(samples) == 2000 and (sampleset.record.num_occurrences == 1).all()
    equal_neighbours = (samples[1:] == samples[:-1]).all(axis=1).sum()
    assert 400 < equal_neighbours < 600
    record = grouped.record
    counts = {tuple(row): n for row, n in zip(record.sample, record.num_occurrences, strict=True)}
    assert {row: (samples == row).all(axis=1).sum() for row in counts} == counts


def test_the_order_is_drawn_from_the_generator(device):
    draws = [
        ShuffledReadsComposite(device, np.random.default_rng(seed))
        .sample(_two_spins(), num_reads=50)
        .record.sample
        for seed in (3, 3, 4)
    ]
    assert (draws[0] == draws[1]).all() and not (draws[0] == draws[2]).all()
