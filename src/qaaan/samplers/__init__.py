"""Samplers of the latent Boltzmann machine, behind one interface and a registry by name.

    s = samplers.make("gibbs", sweeps=10, beta=1.0, seed=0)
    spins = s.sample(bm, 1000)          # (1000, N) tensor of ±1
    samplers.available()                # the registered names

Every sampler declares its options as a pydantic model (``Sampler.Options``), against which
`make` and the settings' ``sampler_options`` are checked. Users add their own with `register`,
and installed packages through the entry-point group ``qaaan.samplers`` (name = a `Sampler`
subclass, or a factory taking the options as keywords); ``dimod`` wraps any dimod sampler.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from pydantic_core import PydanticUndefined

from qaaan.errors import ConfigError, first_line, validate
from qaaan.samplers.base import Sampler, TorchDimodSampler
from qaaan.samplers.dimod_backed import AnyDimodSampler, OpenJijSQA, SimulatedAnnealing
from qaaan.samplers.exact import ExactSampler, boltzmann_distribution, exact_moments
from qaaan.samplers.exact_quantum import ExactQuantumSampler
from qaaan.samplers.gibbs import GibbsSampler
from qaaan.samplers.hardware import DWave, MockDWave, QPUSampler
from qaaan.samplers.options import SamplerOptions
from qaaan.samplers.qemcmc import QuantumEnhancedMCMC
from qaaan.samplers.sqa import SQASampler

ENTRY_POINTS = "qaaan.samplers"
SamplerFactory = Callable[..., Sampler]
_REGISTRY: dict[str, SamplerFactory] = {}
_plugins_loaded = False


def register(name: str, factory: SamplerFactory) -> None:
    """Makes `factory` (a `Sampler` subclass, or a callable taking the options as keywords and
    returning a `Sampler`) available to `make`, and so to the CLI, as `name`."""
    _REGISTRY[name] = factory


def _load_plugins() -> None:
    """Registers the samplers of installed packages (entry-point group ``qaaan.samplers``)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINTS):
        try:
            register(entry.name, entry.load())
        except Exception as error:  # a broken plugin must not break the other samplers
            register(entry.name, _broken(entry.value, error))


def _broken(value: str, error: Exception) -> SamplerFactory:
    def refuse(**options: Any) -> Sampler:
        raise ConfigError(f"the sampler plugin {value!r} failed to load: {first_line(error)}")

    return refuse


def available() -> list[str]:
    """The names `make` knows."""
    _load_plugins()
    return sorted(_REGISTRY)


def factory(name: str) -> SamplerFactory:
    """What `make` calls for `name`; an unknown name is refused, naming the known ones."""
    if not isinstance(name, str) or name not in available():
        raise ConfigError(f"unknown sampler {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name]


def options_model(name: str) -> type[SamplerOptions] | None:
    """The options model of the sampler `name`, or None if it declares none (a factory)."""
    found = getattr(factory(name), "Options", None)
    return None if found is None or found is SamplerOptions else found


def option_names(name: str) -> list[str]:
    """The options the sampler `name` declares (none for a factory that declares none)."""
    model = options_model(name)
    return [] if model is None else [f.alias or n for n, f in model.model_fields.items()]


def check(name: str, options: dict[str, Any]) -> None:
    """Refuses, in one line, an unknown sampler or options its model does not allow."""
    model = options_model(name)
    if model is not None:
        validate(model, options, prefix="sampler_options")


def secret_names(name: str) -> frozenset[str]:
    """The options of sampler `name` that carry credentials (never saved or logged)."""
    model = options_model(name) or SamplerOptions
    return model.secret_names()


def public_options(name: str, options: dict[str, Any], normalise: bool = False) -> dict:
    """`options` of sampler `name` without those that carry credentials, at any depth (a
    fallback's or substitute's options too): what may be saved or logged. With `normalise`,
    completed with the declared defaults, so that options equal in effect compare equal."""
    model = options_model(name)
    if normalise and model is not None:
        defaults = {f.alias or n: f.default for n, f in model.model_fields.items()}
        options = {**{k: v for k, v in defaults.items() if v is not PydanticUndefined}, **options}
    secret, public = secret_names(name), {}
    for key, value in options.items():
        if key in secret:
            continue
        if isinstance(value, dict):
            inner = options.get(key.removesuffix("_options"))
            if isinstance(inner, str) and inner in available():
                value = public_options(inner, value, normalise)
            else:
                value = {k: v for k, v in value.items() if k not in SamplerOptions.secret_names()}
        public[key] = value
    return public


def transverse_field_samplers() -> list[str]:
    """The registered samplers that sample a quantum machine at Gamma > 0."""
    return [name for name in available() if getattr(factory(name), "accepts_transverse_field", 0)]


def is_qpu_path(name: str) -> bool:
    """Whether the sampler registered as `name` goes through the QPU path (a QPU, or a mock)."""
    found = factory(name)
    return isinstance(found, type) and issubclass(found, QPUSampler)


def make(name: str, **options: Any) -> Sampler:
    """The sampler registered as `name`, built with its keyword `options`."""
    return factory(name)(**options)


for _sampler_class in (
    ExactSampler,
    ExactQuantumSampler,
    GibbsSampler,
    QuantumEnhancedMCMC,
    SQASampler,
    SimulatedAnnealing,
    OpenJijSQA,
    AnyDimodSampler,
    MockDWave,
    DWave,
):
    register(_sampler_class.name, _sampler_class)
BUILT_IN = tuple(sorted(_REGISTRY))

__all__ = [
    "AnyDimodSampler",
    "DWave",
    "ExactQuantumSampler",
    "ExactSampler",
    "GibbsSampler",
    "MockDWave",
    "OpenJijSQA",
    "QPUSampler",
    "QuantumEnhancedMCMC",
    "SQASampler",
    "Sampler",
    "SimulatedAnnealing",
    "TorchDimodSampler",
    "available",
    "boltzmann_distribution",
    "check",
    "exact_moments",
    "factory",
    "make",
    "option_names",
    "options_model",
    "public_options",
    "register",
    "secret_names",
    "transverse_field_samplers",
]
