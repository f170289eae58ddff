"""Samplers of the latent Boltzmann machine, behind one interface and a registry by name.

    s = samplers.make("gibbs", sweeps=10, beta=1.0, seed=0)
    spins = s.sample(bm, 1000)          # (1000, N) tensor of ±1
    samplers.available()                # the registered names

Users add their own with `register`: any `Sampler` subclass, or any dimod sampler wrapped in
`DimodSampler`.
"""

from __future__ import annotations

from typing import Any

from qaaan.errors import ConfigError
from qaaan.samplers.base import Sampler, TorchDimodSampler
from qaaan.samplers.dimod_backed import DimodSampler, OpenJijSQA, SimulatedAnnealing
from qaaan.samplers.exact import ExactSampler, boltzmann_distribution, exact_moments
from qaaan.samplers.gibbs import GibbsSampler
from qaaan.samplers.hardware import DWave, MockDWave, QPUSampler
from qaaan.samplers.sqa import SQASampler

_REGISTRY: dict[str, type[Sampler]] = {}


def register(name: str, sampler_class: type[Sampler]) -> None:
    """Makes `sampler_class` available to `make` (and so to the CLI) as `name`."""
    _REGISTRY[name] = sampler_class


def available() -> list[str]:
    """The names `make` knows."""
    return sorted(_REGISTRY)


def option_names(name: str) -> list[str]:
    """The keyword options of the sampler registered as `name`."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ConfigError(f"unknown sampler {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name].option_names()


def is_qpu_path(name: str) -> bool:
    """Whether the sampler registered as `name` goes through the QPU path (a QPU, or a mock)."""
    option_names(name)  # an unknown name is refused
    return issubclass(_REGISTRY[name], QPUSampler)


def make(name: str, **options: Any) -> Sampler:
    """The sampler registered as `name`, built with its keyword `options`."""
    allowed = option_names(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for sampler {name!r}; "
            f"allowed: {', '.join(allowed)}"
        )
    return _REGISTRY[name](**options)


for _sampler_class in (
    ExactSampler,
    GibbsSampler,
    SQASampler,
    SimulatedAnnealing,
    OpenJijSQA,
    MockDWave,
    DWave,
):
    register(_sampler_class.name, _sampler_class)

__all__ = [
    "DWave",
    "DimodSampler",
    "ExactSampler",
    "GibbsSampler",
    "MockDWave",
    "OpenJijSQA",
    "QPUSampler",
    "SQASampler",
    "Sampler",
    "SimulatedAnnealing",
    "TorchDimodSampler",
    "available",
    "boltzmann_distribution",
    "exact_moments",
    "make",
    "option_names",
    "register",
]
