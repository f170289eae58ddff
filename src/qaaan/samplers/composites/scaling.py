"""h and J into the device's ranges (paper section 6.2).

The logical model is divided by `scale_factor` before it is embedded: embedding splits a
logical h over its chain and a logical J over the couplers between two chains, so the physical
values are then no larger than the logical ones and fit ``h_range`` and ``j_range`` too.

The model is only shrunk, never grown, unless ``auto_scale``: gray-box training learns the
parameters in the device's own units (the device samples at its own effective temperature), so
parameters that fit are sent as they are. dwave-preprocessing's ScaleComposite (where dimod's
moved) either takes a fixed scalar or normalizes every problem to fill the ranges, growing small
ones too; the rule here depends on the problem and only shrinks, hence this composite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dimod
import numpy as np

from qaaan.samplers.composites.layer import Layer, device_properties


def scale_factor(
    bqm: dimod.BinaryQuadraticModel, properties: Mapping[str, Any], auto_scale: bool
) -> float:
    """The divisor that brings the logical h and J into the device's h_range and j_range."""
    linear, (_, _, quadratic), _ = bqm.to_numpy_vectors()
    ratios = [0.0]
    if len(linear):
        ratios.append(np.abs(linear).max() / min(abs(v) for v in properties["h_range"]))
    if len(quadratic):
        ratios.append(np.abs(quadratic).max() / min(abs(v) for v in properties["j_range"]))
    largest = max(ratios)
    if auto_scale:
        return largest if largest > 0 else 1.0
    return max(largest, 1.0)


class RangeScaleComposite(Layer):
    """Divides the model by `scale_factor` for the device below; the divisor is info's ``scale``.

    Energies are given back in the units of the model that was passed in.
    """

    def __init__(self, child_sampler: dimod.Sampler, auto_scale: bool = False):
        super().__init__(child_sampler)
        self.auto_scale = auto_scale

    @dimod.decorators.nonblocking_sample_method
    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any):
        scale = scale_factor(bqm, device_properties(self.child), self.auto_scale)
        scaled = bqm.copy()
        scaled.scale(1.0 / scale)
        sampleset = self.child.sample(scaled, **parameters)
        yield sampleset
        sampleset.record.energy *= scale
        sampleset.info["scale"] = float(scale)
        yield sampleset
