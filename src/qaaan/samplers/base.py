"""The one small interface every sampler implements, and its dimod face.

A `Sampler` draws ``num_reads`` spin configurations (±1 float tensors, shape (num_reads, N)) from
a `BoltzmannMachine`; after each call ``info`` holds what the call measured (chain breaks,
scale factors, ...). Torch samplers are also `dimod.Sampler` subclasses through `TorchDimodSampler`,
so any Ocean tool (e.g. ``MockDWaveSampler(substitute_sampler=...)``) can use them.
"""

from __future__ import annotations

import abc
import inspect
from typing import Any, ClassVar

import dimod
import numpy as np
import torch

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError, check_positive_int


class Sampler(abc.ABC):
    """Draws spin configurations from a Boltzmann machine."""

    name: ClassVar[str] = ""
    info: dict[str, Any]

    @abc.abstractmethod
    def sample(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        """(num_reads, N) float tensor of ±1 on ``bm.device``."""

    def state_dict(self) -> dict[str, Any]:
        """What resuming needs (chains, random states); empty for stateless samplers."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` returned."""
        if state:
            raise ConfigError(f"{type(self).__name__} keeps no state, got {sorted(state)}")

    @classmethod
    def option_names(cls) -> list[str]:
        """The keyword options `qaaan.samplers.make` accepts for this sampler."""
        if hasattr(cls, "Options"):
            return list(cls.Options.model_fields)
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in parameters if p.name != "self" and p.kind is p.KEYWORD_ONLY]


class TorchDimodSampler(Sampler, dimod.Sampler):
    """A torch sampler that is also a dimod.Sampler.

    ``sample(bm, n)`` returns a tensor; ``sample(bqm, num_reads=n, **options)`` returns a dimod
    SampleSet drawn by a fresh copy of this sampler with the options overridden (so the dimod
    path never disturbs the persistent state of the torch path). Without an explicit ``seed``
    each dimod call gets a new seed from this sampler's seed, so calls differ but a seeded
    sampler replays the same sequence.
    """

    def __init__(self, *, seed: int | None, **options: Any):
        self.options = {"seed": seed, **options}
        self.info = {}
        self._dimod_seeds = np.random.default_rng(seed)

    @abc.abstractmethod
    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        """The torch path: (num_reads, N) ±1 from `bm`."""

    def state_dict(self) -> dict[str, Any]:
        return {"dimod_seeds": self._dimod_seeds.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._dimod_seeds.bit_generator.state = state["dimod_seeds"]

    @property
    def parameters(self) -> dict[str, list]:
        return {"num_reads": [], **{name: [] for name in self.option_names()}}

    @property
    def properties(self) -> dict[str, Any]:
        return {}

    def sample(self, model, num_reads: int = 1, **options: Any):  # type: ignore[override]
        check_positive_int("num_reads", num_reads)
        if isinstance(model, BoltzmannMachine):
            if options:
                raise ConfigError(f"options {sorted(options)} go to the constructor, not sample()")
            return self.draw(model, num_reads)
        return self._sample_bqm(model, num_reads, options)

    def _sample_bqm(self, bqm: dimod.BinaryQuadraticModel, num_reads: int, options: dict):
        unknown = sorted(set(options) - set(self.option_names()))
        if unknown:
            raise ConfigError(
                f"unknown option(s) {unknown} for {type(self).__name__}; "
                f"allowed: {', '.join(self.option_names())}"
            )
        spin_bqm = bqm.spin if bqm.vartype is dimod.BINARY else bqm
        if len(spin_bqm.variables) == 0:
            samples = np.empty((num_reads, 0), dtype=np.int8)
        else:
            merged = {**self.options, **options}
            if options.get("seed") is None:
                merged["seed"] = int(self._dimod_seeds.integers(2**62))
            machine = BoltzmannMachine.from_bqm(spin_bqm)
            samples = type(self)(**merged).draw(machine, num_reads).cpu().numpy()
        sampleset = dimod.SampleSet.from_samples_bqm(
            (samples.astype(np.int8), list(spin_bqm.variables)), spin_bqm
        )
        return sampleset.change_vartype(bqm.vartype, inplace=False)
