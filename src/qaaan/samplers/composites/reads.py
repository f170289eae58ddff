"""The device's reads as independent rows, one per read, in random order (paper section 6.2).

A QPU answers with a histogram by default: identical reads share one row and count in
``num_occurrences``. The layers above want one row per read: the fair coin of the unembedding
must be tossed for each read (tossed once for a row of k reads, it would make the k tied chains
agree), and the trainer takes the reads as i.i.d. samples, which reads expanded in place are
not (they sit in runs of identical rows). The rows are shuffled with the sampler's generator,
so a seeded run is reproducible.
"""

from __future__ import annotations

from typing import Any

import dimod
import numpy as np

from qaaan.samplers.composites.layer import Layer


def shuffled_reads(sampleset: dimod.SampleSet, rng: np.random.Generator) -> dimod.SampleSet:
    """`sampleset` with one row per read (num_occurrences 1), in an order drawn from `rng`."""
    record = sampleset.record
    rows = rng.permutation(np.repeat(np.arange(len(record)), record.num_occurrences))
    expanded = record[rows]
    expanded.num_occurrences = 1
    return dimod.SampleSet(expanded, sampleset.variables, sampleset.info, sampleset.vartype)


class ShuffledReadsComposite(Layer):
    """The child's reads one per row, shuffled (`shuffled_reads`)."""

    def __init__(self, child_sampler: dimod.Sampler, rng: np.random.Generator):
        super().__init__(child_sampler)
        self.rng = rng

    @dimod.decorators.nonblocking_sample_method
    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any):
        sampleset = self.child.sample(bqm, **parameters)
        yield sampleset
        yield shuffled_reads(sampleset, self.rng)
