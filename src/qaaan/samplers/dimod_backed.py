"""Any dimod sampler behind the `Sampler` interface: machine -> BQM -> SampleSet -> spins.

This is how `sa` (dwave-samplers' SimulatedAnnealingSampler) is used, and how users plug in
their own dimod sampler: ``DimodSampler(MySampler(), **its_parameters)``.
"""

from __future__ import annotations

from typing import Any

import dimod
import numpy as np
import torch
from dwave.samplers import SimulatedAnnealingSampler

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError, check_positive_int, check_seed, first_line
from qaaan.samplers.base import Sampler


def sampleset_to_spins(sampleset: dimod.SampleSet, variables: list) -> np.ndarray:
    """(num_reads, N) ±1 array in the order of `variables`, one row per read.

    An aggregated SampleSet (num_occurrences > 1, as a QPU returns by default) is expanded.
    """
    spins = dimod.as_samples((sampleset.record.sample, sampleset.variables))[0]
    column = {v: i for i, v in enumerate(sampleset.variables)}
    spins = spins[:, [column[v] for v in variables]]
    return np.repeat(spins, sampleset.record.num_occurrences, axis=0)


class DimodSampler(Sampler):
    """Samples ``bm.to_bqm()`` with a dimod sampler and its parameters.

    If ``seed`` is among the parameters, each call gets a new seed drawn from it: a seeded run is
    reproducible, yet successive calls differ (a fixed seed per call would repeat the samples).
    """

    def __init__(self, child: dimod.Sampler, **parameters: Any):
        self.child = child
        self.seed = check_seed(parameters.pop("seed", None))
        self.seeds = np.random.default_rng(self.seed)
        self.parameters = parameters
        self.info = {}

    def state_dict(self) -> dict[str, Any]:
        return {"seeds": self.seeds.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seeds.bit_generator.state = state["seeds"]

    def sample(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        num_reads = check_positive_int("num_reads", num_reads)
        seed = {} if self.seed is None else {"seed": int(self.seeds.integers(2**31))}
        try:
            sampleset = self.child.sample(
                bm.to_bqm(), num_reads=num_reads, **seed, **self.parameters
            )
        except (ValueError, TypeError) as error:
            message = first_line(error)
            raise ConfigError(
                f"{type(self.child).__name__} refused its options {self.parameters}: {message}"
            ) from error
        spins = sampleset_to_spins(sampleset, list(range(bm.num_nodes)))
        self.info = dict(sampleset.info)
        return torch.as_tensor(spins, dtype=torch.float32, device=bm.device)


class SimulatedAnnealing(DimodSampler):
    """dwave-samplers' SimulatedAnnealingSampler; its parameters pass through."""

    name = "sa"

    def __init__(self, **parameters: Any):
        super().__init__(SimulatedAnnealingSampler(), **parameters)

    @classmethod
    def option_names(cls) -> list[str]:
        return sorted(set(SimulatedAnnealingSampler().parameters) - {"num_reads"})


class OpenJijSQA(DimodSampler):
    """OpenJij's SQASampler, kept as a peer for comparison; its parameters pass through.

    OpenJij gives every read the same result when it is passed a seed, so ``seed`` is not
    forwarded (runs are not reproducible), and it returns the lowest-energy Trotter slice.
    """

    name = "openjij-sqa"

    def __init__(self, **parameters: Any):
        import openjij

        parameters.pop("seed", None)
        super().__init__(openjij.SQASampler(), **parameters)

    @classmethod
    def option_names(cls) -> list[str]:
        return ["beta", "gamma", "trotter", "num_sweeps", "schedule", "seed"]
