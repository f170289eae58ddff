"""What the layers of the QPU path share: one child, and the device at the bottom."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dimod


class Layer(dimod.ComposedSampler):
    """A composite over one child that takes the child's parameters and adds none of its own."""

    def __init__(self, child_sampler: dimod.Sampler):
        self._children = [child_sampler]

    @property
    def children(self) -> list[dimod.Sampler]:
        return self._children

    @property
    def parameters(self) -> dict[str, list]:
        return self.child.parameters.copy()

    @property
    def properties(self) -> dict[str, Any]:
        return {"child_properties": self.child.properties.copy()}


def device_properties(sampler: dimod.Sampler) -> Mapping[str, Any]:
    """The properties of the device at the bottom of a stack: the first sampler, depth first
    through ``children``, that states ``h_range`` and ``j_range``.

    Composites keep their child's properties under ``child_properties``, not at the top, so
    each layer reads the device's own ranges whatever layers lie between it and the device.
    """
    if {"h_range", "j_range"} <= set(sampler.properties):
        return sampler.properties
    for child in getattr(sampler, "children", ()):
        try:
            return device_properties(child)
        except ValueError:
            continue
    raise ValueError(
        f"no device (a sampler with h_range and j_range) below {type(sampler).__name__}"
    )
