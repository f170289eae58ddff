"""The one small interface every sampler implements, and its dimod face.

A `Sampler` draws ``num_reads`` spin configurations (±1 float tensors, shape (num_reads, N)) from
a `BoltzmannMachine`; after each call ``info`` holds what the call measured (chain breaks,
scale factors, ...). Its options are one pydantic model, ``Options`` (`qaaan.samplers.options`),
checked when the sampler is built. Torch samplers are also `dimod.Sampler` subclasses through
`TorchDimodSampler`, so any Ocean tool (e.g. ``MockDWaveSampler(substitute_sampler=...)``) can
use them.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import dimod
import numpy as np
import torch

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError, validate
from qaaan.samplers.options import SamplerOptions


def check_num_reads(num_reads: Any) -> int:
    if isinstance(num_reads, bool) or not isinstance(num_reads, int) or num_reads < 1:
        raise ConfigError(f"num_reads must be a positive integer, got {num_reads!r}")
    return num_reads


class Sampler(abc.ABC):
    """Draws spin configurations from a Boltzmann machine."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[SamplerOptions]] = SamplerOptions
    accepts_transverse_field: ClassVar[bool] = False  # samples a QBM at Gamma > 0 (`qaaan.qbm`)
    info: dict[str, Any]

    def __init__(self, **options: Any):
        self.options = validate(self.Options, options, prefix="sampler_options")
        self.info = {}

    @abc.abstractmethod
    def sample(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        """(num_reads, N) float tensor of ±1 on ``bm.device``."""

    def check_call(self, bm: BoltzmannMachine, num_reads: Any) -> int:
        """`num_reads` checked, and the machine's transverse field refused unless this sampler
        samples quantum machines; returns `num_reads`."""
        gamma = bm.transverse_field
        if gamma and not self.accepts_transverse_field:
            from qaaan.samplers import transverse_field_samplers  # the registry imports this

            raise ConfigError(
                f"sampler {self.name or type(self).__name__!r} samples classical machines only, "
                f"the machine has Gamma = {gamma:g} > 0; samplers that accept it: "
                f"{', '.join(transverse_field_samplers())}"
            )
        return check_num_reads(num_reads)

    def state_dict(self) -> dict[str, Any]:
        """What resuming needs (chains, random states); empty for stateless samplers."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` returned."""
        if state:
            raise ConfigError(f"{type(self).__name__} keeps no state, got {sorted(state)}")

    def fork(self, seed: int) -> Sampler:
        """A sampler with these options and a fresh random state from `seed`, for draws that
        must leave this sampler's state alone (sample grids, ``qaaan sample``). A sampler that
        holds costly resources (a QPU connection, embeddings) shares them with its forks."""
        options = self.options.keywords()
        if "seed" in options:
            options["seed"] = seed
        return type(self)(**options)


class TorchDimodSampler(Sampler, dimod.Sampler):
    """A torch sampler that is also a dimod.Sampler.

    ``sample(bm, n)`` returns a tensor; ``sample(bqm, num_reads=n, **options)`` returns a dimod
    SampleSet drawn by a fresh copy of this sampler with the options overridden (so the dimod
    path never disturbs the persistent state of the torch path). Without an explicit ``seed``
    each dimod call gets a new seed from this sampler's seed, so calls differ but a seeded
    sampler replays the same sequence.
    """

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._dimod_seeds = np.random.default_rng(self.options.seed)

    @abc.abstractmethod
    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        """The torch path: (num_reads, N) ±1 from `bm`."""

    def state_dict(self) -> dict[str, Any]:
        return {"dimod_seeds": self._dimod_seeds.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._dimod_seeds.bit_generator.state = state["dimod_seeds"]

    @property
    def parameters(self) -> dict[str, list]:
        field = {"transverse_field": []} if self.accepts_transverse_field else {}
        return {"num_reads": [], **field, **{name: [] for name in self.Options.model_fields}}

    @property
    def properties(self) -> dict[str, Any]:
        return {}

    def sample(self, model, num_reads: int = 1, **options: Any):  # type: ignore[override]
        if isinstance(model, BoltzmannMachine):
            self.check_call(model, num_reads)
            if options:
                raise ConfigError(f"options {sorted(options)} go to the constructor, not sample()")
            with torch.no_grad():
                return self.draw(model, num_reads)
        return self._sample_bqm(model, check_num_reads(num_reads), options)

    def _sample_bqm(self, bqm: dimod.BinaryQuadraticModel, num_reads: int, options: dict):
        """Draws from `bqm`, or with ``transverse_field=Gamma`` from the quantum machine of
        `qaaan.qbm` whose classical part is `bqm` (for samplers that accept one)."""
        spin_bqm = bqm.spin if bqm.vartype is dimod.BINARY else bqm
        options = dict(options)
        gamma = options.pop("transverse_field", None)
        merged = {**self.options.keywords(), **options}
        if options.get("seed") is None:
            merged["seed"] = int(self._dimod_seeds.integers(2**62))
        copy = type(self)(**merged)  # checks the options
        if len(spin_bqm.variables) == 0:
            samples = np.empty((num_reads, 0), dtype=np.int8)
        else:
            machine = machine_of(spin_bqm, gamma)
            copy.check_call(machine, num_reads)
            with torch.no_grad():
                samples = copy.draw(machine, num_reads).cpu().numpy()
        sampleset = dimod.SampleSet.from_samples_bqm(
            (samples.astype(np.int8), list(spin_bqm.variables)), spin_bqm
        )
        return sampleset.change_vartype(bqm.vartype, inplace=False)


def machine_of(bqm: dimod.BinaryQuadraticModel, transverse_field: float | None) -> BoltzmannMachine:
    """The machine with `bqm`'s distribution; given a transverse field, the quantum machine."""
    if transverse_field is None:
        return BoltzmannMachine.from_bqm(bqm)
    from qaaan.qbm import QuantumBoltzmannMachine  # qbm imports the samplers

    machine = QuantumBoltzmannMachine.from_bqm(bqm)
    machine.set_transverse_field(transverse_field)
    return machine
