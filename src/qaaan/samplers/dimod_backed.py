"""Any dimod sampler behind the `Sampler` interface: machine -> BQM -> SampleSet -> spins.

This is how `sa` (dwave-samplers' SimulatedAnnealingSampler) and `openjij-sqa` are used, and
how users plug in any installed dimod sampler by name:

    qaaan train --sampler dimod --sampler-option class=dwave.samplers.TabuSampler \\
                --sampler-option timeout=20

The options other than ``class`` and ``seed`` go to the child's ``sample()`` as keywords; their
names are checked against the parameters the child declares (``child.parameters``), their
values by the child when it is called.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar, Literal

import dimod
import numpy as np
import torch
from pydantic import ConfigDict, Field

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError, first_line
from qaaan.samplers.base import Sampler
from qaaan.samplers.options import Beta, SamplerOptions
from qaaan.settings import Seed


def sampleset_to_spins(sampleset: dimod.SampleSet, variables: list) -> np.ndarray:
    """(num_reads, N) ±1 array in the order of `variables`, one row per read.

    An aggregated SampleSet (num_occurrences > 1, as a QPU returns by default) is expanded.
    """
    spins = dimod.as_samples((sampleset.record.sample, sampleset.variables))[0]
    column = {v: i for i, v in enumerate(sampleset.variables)}
    spins = spins[:, [column[v] for v in variables]]
    return np.repeat(spins, sampleset.record.num_occurrences, axis=0)


class DimodBacked(Sampler):
    """Samples ``bm.to_bqm()`` with a dimod sampler (`child`) and the options as parameters.

    If the child takes a ``seed``, each call gets a new seed drawn from the ``seed`` option: a
    seeded run is reproducible, yet successive calls differ (a fixed seed per call would repeat
    the samples).
    """

    forwards_seed: ClassVar[bool] = True

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.child = self.make_child()
        self.seeds = np.random.default_rng(self.options.seed)

    def make_child(self) -> dimod.Sampler:
        """The dimod sampler that draws the samples."""
        raise NotImplementedError

    def parameters(self) -> dict[str, Any]:
        """The keywords of the child's ``sample()`` call, beyond num_reads and seed."""
        return {k: v for k, v in self.options.keywords().items() if k != "seed" and v is not None}

    def state_dict(self) -> dict[str, Any]:
        return {"seeds": self.seeds.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seeds.bit_generator.state = state["seeds"]

    def sample(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        num_reads = self.check_call(bm, num_reads)
        seeded = self.forwards_seed and self.options.seed is not None
        seed = {"seed": int(self.seeds.integers(2**31))} if seeded else {}
        parameters = self.parameters()
        try:
            sampleset = self.child.sample(bm.to_bqm(), num_reads=num_reads, **seed, **parameters)
        except (ValueError, TypeError) as error:
            raise ConfigError(
                f"{type(self.child).__name__} refused its options {parameters}: {first_line(error)}"
            ) from error
        spins = sampleset_to_spins(sampleset, list(range(bm.num_nodes)))
        if len(spins) != num_reads:  # e.g. an exact solver answers every state once
            raise ConfigError(
                f"{type(self.child).__name__} returned {len(spins)} reads where {num_reads} "
                "were asked for; a sampler of the machine must draw num_reads samples"
            )
        self.info = dict(sampleset.info)
        return torch.as_tensor(spins, dtype=torch.float32, device=bm.device)


class SimulatedAnnealing(DimodBacked):
    """dwave-samplers' SimulatedAnnealingSampler."""

    name = "sa"

    class Options(SamplerOptions):
        beta_range: list[Beta] | None = Field(
            None, min_length=2, max_length=2, description="[hot, cold] beta (None: from h, J)"
        )
        num_sweeps: int | None = Field(None, ge=1, description="sweeps per read (None: 1000)")
        num_sweeps_per_beta: int | None = Field(None, ge=1, description="sweeps at each beta")
        beta_schedule_type: Literal["linear", "geometric", "custom"] | None = Field(
            None, description="how beta moves through beta_range (None: geometric)"
        )
        beta_schedule: list[Beta] | None = Field(None, description="the betas, when custom")
        proposal_acceptance_criteria: Literal["Metropolis", "Gibbs"] | None = Field(
            None, description="acceptance rule of a spin flip (None: Metropolis)"
        )
        randomize_order: bool | None = Field(None, description="visit the spins in random order")
        seed: Seed | None = Field(None, description="seed of the calls (None: random)")

    def make_child(self) -> dimod.Sampler:
        from dwave.samplers import SimulatedAnnealingSampler

        return SimulatedAnnealingSampler()


class OpenJijSQA(DimodBacked):
    """OpenJij's SQASampler, kept as a peer for comparison.

    OpenJij gives every read the same result when it is passed a seed, so ``seed`` is not
    forwarded (runs are not reproducible), and it returns the lowest-energy Trotter slice.
    """

    name = "openjij-sqa"
    forwards_seed = False

    class Options(SamplerOptions):
        beta: Beta | None = Field(None, description="inverse temperature (None: OpenJij's 5)")
        gamma: Beta | None = Field(None, description="transverse field (None: OpenJij's 1)")
        trotter: int | None = Field(None, ge=1, description="Trotter slices (None: 4)")
        num_sweeps: int | None = Field(None, ge=1, description="sweeps per read (None: 1000)")
        schedule: Any = Field(None, description="OpenJij's schedule: (s, beta, sweeps) steps")
        seed: Seed | None = Field(None, description="accepted and ignored (see above)")

    def make_child(self) -> dimod.Sampler:
        import openjij

        return openjij.SQASampler()


class AnyDimodSampler(DimodBacked):
    """Any installed dimod sampler, named by ``class`` (PACKAGE.MODULE.CLASS or
    PACKAGE.MODULE:CLASS) and built without arguments; the other options go to its sample()."""

    name = "dimod"

    class Options(SamplerOptions):
        model_config = ConfigDict(extra="allow", populate_by_name=True)

        class_: str = Field(alias="class", description="PACKAGE.MODULE.CLASS of a dimod sampler")
        seed: Seed | None = Field(None, description="seed of the calls, if the sampler takes one")

    def __init__(self, **options: Any):
        super().__init__(**options)
        declared = set(self.child.parameters) - {"num_reads"}
        unknown = sorted(set(self.parameters()) - declared)
        if unknown:
            raise ConfigError(
                f"{self.options.class_} takes no option(s) {', '.join(unknown)}; "
                f"it takes: {', '.join(sorted(declared))}"
            )
        self.forwards_seed = "seed" in declared

    def make_child(self) -> dimod.Sampler:
        sampler_class = load_dimod_class(self.options.class_)
        try:
            return sampler_class()
        except Exception as error:  # whatever the class raises, the user gets one line
            raise ConfigError(
                f"{self.options.class_}() could not be built: {first_line(error)}"
            ) from None

    def parameters(self) -> dict[str, Any]:
        return dict(self.options.model_extra or {})


def load_dimod_class(path: str) -> type[dimod.Sampler]:
    """The class at 'package.module.Class' or 'package.module:Class', if it is a dimod sampler."""
    module_name, separator, class_name = path.partition(":")
    if not separator:
        module_name, _, class_name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(
            f"sampler_options.class = {path!r}: no such class (give PACKAGE.MODULE.CLASS of an "
            "installed dimod sampler, e.g. dwave.samplers.TabuSampler)"
        ) from None
    if not (isinstance(found, type) and issubclass(found, dimod.Sampler)):
        raise ConfigError(f"sampler_options.class = {path!r}: not a dimod.Sampler subclass")
    return found
