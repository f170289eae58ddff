"""The QPU path (paper section 6.2) behind the `Sampler` interface: `MockDWave` and `DWave`.

Each is a stack of dimod composites (`qaaan.samplers.composites`), outermost first: retries
and the fallback sampler, scaling into the device's ranges, the fixed embedding with its
fair-coin unembedding, the reads one per row in random order, and the device. The stack for a
logical graph is built on the first call for that graph and kept, so each graph is embedded
once (`qaaan.samplers.placement`); the device is opened on the first call too, once per
sampler, so building a sampler neither connects to Leap nor needs credentials.

One seeded generator drives the embedding search, the shuffle of the reads and the coins, in
that order; the device's substitute sampler (mock) and its device model have their own seeds.
``state_dict`` holds all three and the embeddings, so a resumed sampler draws what an
uninterrupted one would.

`MockDWave` runs the path offline on dwave-system's MockDWaveSampler shaped as a D-Wave 2000Q,
Advantage or Advantage2, with a Boltzmann-like substitute sampler inside a device model as the
device; `DWave` on a real QPU through Leap.
"""

from __future__ import annotations

import abc
import copy
import functools
import os
from typing import Annotated, Any, ClassVar, Literal

import dimod
import dwave.graphs as dg
import networkx as nx
import numpy as np
import torch
from dwave.system.testing import MockDWaveSampler
from pydantic import Field, SecretStr, model_validator

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError, first_line
from qaaan.samplers import placement
from qaaan.samplers.base import Sampler
from qaaan.samplers.composites import (
    DEVICES,
    DeviceModel,
    DeviceModelComposite,
    FairCoinEmbeddingComposite,
    QPUAccount,
    RangeScaleComposite,
    RetryComposite,
    RetryPolicy,
    ShuffledReadsComposite,
)
from qaaan.samplers.composites.device import slices_for
from qaaan.samplers.dimod_backed import sampleset_to_spins
from qaaan.samplers.options import SamplerOptions
from qaaan.samplers.placement import Embedding
from qaaan.settings import Seed, like

SUBSTITUTE_DEFAULTS = {"gibbs": {"sweeps": 100, "burn_in": 0}, "sqa": {}}

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class QPUOptions(SamplerOptions):
    """The options of every QPU path: seed, scaling and resilience."""

    seed: Seed | None = Field(
        None,
        description="embedding choice, order of reads and tie coins (and the mock's dead qubits)",
    )
    auto_scale: bool = Field(
        False, description="fill the device's h and J ranges (else only shrink what exceeds them)"
    )
    chain_strength: Positive | None = Field(
        None,
        description="coupling of a chain's qubits in device J units (None: the device's "
        "strongest ferromagnet, 1 on a 2000Q)",
    )
    timeout: Positive | None = Field(None, description="seconds per QPU call (None: no limit)")
    retries: int = Field(3, ge=0, description="tries after a failed QPU call")
    backoff: float = Field(
        1.0, ge=0, allow_inf_nan=False, description="seconds before the first retry, then doubled"
    )
    fallback: str | None = Field(
        None, description="sampler name that draws when every try failed (e.g. 'gibbs')"
    )
    fallback_options: dict[str, Any] | None = Field(None, description="the fallback's options")
    fallback_for: int = Field(
        100, ge=0, description="calls the fallback draws before the QPU is tried again"
    )

    @model_validator(mode="after")
    def _fallback_options_need_a_fallback(self) -> QPUOptions:
        if self.fallback is None and self.fallback_options:
            raise ValueError("fallback_options given without a fallback sampler")
        return self


class _OwnDraws(dimod.Sampler):
    """A qaaan sampler's own draws of a logical BQM, as a dimod sampler.

    The retry layer's fallback gets the logical BQM; this draws it through the sampler's torch
    path, so a Gibbs fallback keeps its persistent chains from call to call.
    """

    def __init__(self, sampler: Sampler):
        self.sampler = sampler
        self.name = sampler.name

    @property
    def parameters(self) -> dict[str, list]:
        return {"num_reads": []}

    @property
    def properties(self) -> dict[str, Any]:
        return {}

    def sample(self, bqm: dimod.BinaryQuadraticModel, num_reads: int = 1) -> dimod.SampleSet:
        spins = self.sampler.sample(BoltzmannMachine.from_bqm(bqm), num_reads)
        return dimod.SampleSet.from_samples_bqm(
            (spins.cpu().numpy().astype(np.int8), list(bqm.variables)),
            bqm,
            info=dict(self.sampler.info),
        )


def nested_sampler(name: str, options: dict[str, Any], key: str) -> Sampler:
    """The sampler an option names (a fallback, a substitute), its errors naming that option."""
    from qaaan import samplers

    try:
        return samplers.make(name, **options)
    except ConfigError as error:
        nested = str(error).replace("sampler_options", f"sampler_options.{key}", 1)
        raise ConfigError(nested) from None


def _graph_key(bm: BoltzmannMachine) -> bytes:
    return bm.num_nodes.to_bytes(4, "little") + bm.edges.cpu().numpy().tobytes()


class QPUSampler(Sampler):
    """The QPU path on a structured dimod sampler that `open_device` opens."""

    Options: ClassVar[type[QPUOptions]] = QPUOptions
    substitute: Sampler | None = None  # the sampler that plays the device, when it is emulated

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.rng = np.random.default_rng(self.options.seed)
        self.fallback = None
        if self.options.fallback is not None:
            self.fallback = nested_sampler(
                self.options.fallback, self.options.fallback_options or {}, "fallback_options"
            )
        self.account = QPUAccount()
        self.embeddings: dict[bytes, Embedding] = {}
        self._stacks: dict[bytes, RetryComposite] = {}

    @abc.abstractmethod
    def open_device(self) -> dimod.Sampler:
        """The structured sampler the problems go to; called once, on the first call."""

    def device_parameters(self) -> dict[str, Any]:
        """Parameters of every call to the device (annealing time, ...)."""
        return {}

    @functools.cached_property
    def device(self) -> dimod.Sampler:
        return self.open_device()

    @functools.cached_property
    def target(self) -> nx.Graph:
        """The device's working qubits and couplers, with its lattice's shape."""
        return self.device.to_networkx_graph()

    def embedding_for(self, bm: BoltzmannMachine) -> Embedding:
        """The chains of the machine's graph on the device, searched once per graph."""
        key = _graph_key(bm)
        if key not in self.embeddings:
            self.embeddings[key] = placement.find_embedding(bm.graph, self.target, self.rng)
        return self.embeddings[key]

    def stack_for(self, bm: BoltzmannMachine) -> RetryComposite:
        """The composites for the machine's graph, outermost first (built once per graph)."""
        key = _graph_key(bm)
        if key not in self._stacks:
            reads = ShuffledReadsComposite(self.device, self.rng)
            chains = FairCoinEmbeddingComposite(
                reads, self.embedding_for(bm), self.rng, self.options.chain_strength
            )
            scaled = RangeScaleComposite(chains, auto_scale=self.options.auto_scale)
            self._stacks[key] = RetryComposite(
                scaled,
                RetryPolicy(self.options.timeout, self.options.retries, self.options.backoff),
                fallback=_OwnDraws(self.fallback) if self.fallback is not None else None,
                fallback_for=self.options.fallback_for,
                account=self.account,
            )
        return self._stacks[key]

    def fork(self, seed: int) -> QPUSampler:
        """A sampler on the same device connection and embeddings, with its own random stream
        from `seed` (and its own substitute and fallback, whose chains it must not disturb):
        previews need no new connection or embedding search, and their QPU time is counted."""
        fork = copy.copy(self)
        fork.rng = np.random.default_rng(seed)
        fork._stacks = {}
        if self.substitute is not None:  # an emulated device: its own substitute inside
            fork.substitute = self.substitute.fork(seed)
            fork.__dict__.pop("device", None)
        if self.fallback is not None:
            fork.fallback = self.fallback.fork(seed)
        return fork

    def sample(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        num_reads = self.check_call(bm, num_reads)
        stack = self.stack_for(bm)
        sampleset = stack.sample(bm.to_bqm(), num_reads=num_reads, **self.device_parameters())
        self.info = dict(sampleset.info)
        spins = sampleset_to_spins(sampleset, list(range(bm.num_nodes)))
        return torch.as_tensor(spins, dtype=torch.float32, device=bm.device)

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.rng.bit_generator.state,
            "embeddings": {key.hex(): embedding for key, embedding in self.embeddings.items()},
            "device": self.substitute.state_dict() if self.substitute is not None else {},
            "totals": self.account.totals(),
            "fallback_left": self.account.fallback_left,
            "fallback": self.fallback.state_dict() if self.fallback is not None else {},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.embeddings = {bytes.fromhex(k): e for k, e in state["embeddings"].items()}
        self._stacks.clear()  # a stack holds its embedding: rebuilt from the loaded ones
        if self.substitute is not None:
            self.substitute.load_state_dict(state["device"])
        # checkpoints written before the QPU's costs were kept have no totals
        totals = state.get("totals", {})
        self.account = QPUAccount(**totals, fallback_left=state.get("fallback_left", 0))
        if self.fallback is not None:
            self.fallback.load_state_dict(state.get("fallback", {}))


LATTICES = {"chimera": dg.chimera_graph, "pegasus": dg.pegasus_graph, "zephyr": dg.zephyr_graph}


def mock_device(
    device: str, dead_fraction: float, seed: int | None, substitute: dimod.Sampler
) -> MockDWaveSampler:
    """MockDWaveSampler shaped as the `device` of `DEVICES` (its lattice, h and J ranges), with
    `substitute` drawing the samples.

    A `dead_fraction` of the qubits, and the same share of the couplers, is removed (chosen by
    `seed`). Real 2000Qs had about 0.3% dead qubits; a few % leave no room for a one-to-one
    Chimera placement, and the path then falls back to minorminer's chains.
    """
    preset = DEVICES[device]
    family, size = preset.topology
    lattice = LATTICES[family](size)
    rng = np.random.default_rng(seed)
    qubits, couplers = np.array(sorted(lattice.nodes)), sorted(lattice.edges)
    dead_qubits = rng.choice(qubits, size=round(dead_fraction * len(qubits)), replace=False)
    dead_couplers = rng.choice(
        len(couplers), size=round(dead_fraction * len(couplers)), replace=False
    )
    mock = MockDWaveSampler(
        topology_type=family,
        topology_shape=[size] if family != "chimera" else [size, size, 4],
        broken_nodes=[int(q) for q in dead_qubits],
        broken_edges={couplers[i] for i in dead_couplers},
        substitute_sampler=substitute,
        exact_solver_cutoff=0,
    )
    mock.properties.update(
        chip_id=f"Mock-{device}", h_range=list(preset.h_range), j_range=list(preset.j_range)
    )
    return mock


class MockDWave(QPUSampler):
    """The whole QPU path offline on a mock D-Wave QPU, a Boltzmann-like sampler as the device.

    The mock has the working graph and ranges of `device` (`DEVICES`). The substitute draws
    the samples: 'gibbs' is classical at its beta (100 fresh sweeps per call by default), 'sqa'
    a simulated quantum annealer. Between them `DeviceModelComposite` makes the draws those of
    a real annealer: at the device's effective temperature ``device_beta`` (times the
    substitute's beta, 1 by default), with control errors on h and J, optionally frozen out at
    s* of the device's schedule (substitute sqa, with Trotter slices enough for that beta
    unless its options set them), and with readout errors. The temperature and the errors
    default to the device's published magnitudes, freeze-out to none; ``device_model=false``
    makes the device ideal.
    """

    name = "mock-dwave"

    class Options(QPUOptions):
        device: Literal["2000q", "advantage", "advantage2"] = Field(
            "2000q", description="the QPU emulated: working graph, ranges, effects' magnitudes"
        )
        device_model: bool = Field(
            True, description="a real device's effects (false: ideal, at the substitute's beta)"
        )
        device_beta: Positive | None = Field(
            None, description="effective inverse temperature in device units (None: device's)"
        )
        control_error: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(
            None, min_length=2, max_length=2,
            description="[sigma_h, sigma_J] of the errors on h and J per call (None: device's)",
        )  # fmt: skip
        freeze_out: float | None = Field(
            None, gt=0, lt=1,
            description="s* where the state freezes: the quantum Boltzmann state at Gamma(s*) "
            "(substitute sqa; None: classical)",
        )  # fmt: skip
        readout_error: float | None = Field(
            None, ge=0, lt=0.5, description="probability a spin is read flipped (None: device's)"
        )
        dead_fraction: float = Field(
            0.0, ge=0, lt=0.5, description="share of dead qubits and couplers"
        )
        substitute: Literal["gibbs", "sqa"] = Field(
            "gibbs", description="the sampler that plays the device"
        )
        substitute_options: dict[str, Any] | None = Field(
            None, description="the substitute's options (its seed defaults to seed)"
        )

        @model_validator(mode="after")
        def _effects_need_the_device_model(self) -> MockDWave.Options:
            effects = ("device_beta", "control_error", "freeze_out", "readout_error")
            given = [name for name in effects if getattr(self, name) is not None]
            if given and not self.device_model:
                raise ValueError(
                    f"{', '.join(given)} given with device_model = false (an ideal device has "
                    "none of these effects)"
                )
            if self.freeze_out is not None and self.substitute != "sqa":
                raise ValueError(
                    f"freeze_out = {self.freeze_out:g} samples a transverse-field state; "
                    "it needs substitute = 'sqa'"
                )
            return self

    def __init__(self, **options: Any):
        super().__init__(**options)
        substitute = self.options.substitute
        defaults = {"seed": self.options.seed, **SUBSTITUTE_DEFAULTS[substitute]}
        if self.options.freeze_out is not None:  # sqa: slices enough for the device's beta
            own_beta = (self.options.substitute_options or {}).get("beta", 1.0)
            defaults["trotter"] = slices_for(self.device_model().device_beta * own_beta)
        self.substitute = nested_sampler(
            substitute, {**defaults, **(self.options.substitute_options or {})},
            "substitute_options",
        )  # fmt: skip
        self.effects_rng = np.random.default_rng(effects_seed(self.options.seed))

    def device_model(self) -> DeviceModel:
        """The effects the options ask for, each defaulting to the device's."""
        preset, options = DEVICES[self.options.device], self.options
        if not options.device_model:
            return DeviceModel()
        return DeviceModel(
            device_beta=options.device_beta or preset.device_beta,
            control_error=tuple(options.control_error or preset.control_error),
            freeze_out=options.freeze_out,
            readout_error=(
                preset.readout_error if options.readout_error is None else options.readout_error
            ),
            schedule=preset.schedule,
        )

    def open_device(self) -> MockDWaveSampler:
        effects = DeviceModelComposite(self.substitute, self.device_model(), self.effects_rng)
        return mock_device(
            self.options.device, self.options.dead_fraction, self.options.seed, effects
        )

    def fork(self, seed: int) -> MockDWave:
        fork = super().fork(seed)
        fork.effects_rng = np.random.default_rng(effects_seed(seed))
        return fork

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "effects": self.effects_rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "effects" in state:  # checkpoints written before the device model have none
            self.effects_rng.bit_generator.state = state["effects"]


def effects_seed(seed: int | None) -> list[int] | None:
    """The device model's own stream, apart from the path's and the substitute's."""
    return None if seed is None else [seed, 1]


def credentials_configured() -> bool:
    from dwave.cloud.config import load_config

    if os.environ.get("DWAVE_API_TOKEN"):
        return True
    try:
        return bool(load_config().get("token"))
    except Exception:  # an unreadable or malformed config file means: not configured
        return False


class DWave(QPUSampler):
    """A real D-Wave QPU through Leap (its own topology and dead qubits).

    Leap's credentials are the ``token`` option, else ``DWAVE_API_TOKEN`` or the file that
    ``dwave config create`` writes; they are checked, and the solver opened, on the first call.
    """

    name = "dwave"

    class Options(QPUOptions):
        solver: str | None = Field(None, description="solver name (None: Leap's default QPU)")
        annealing_time: Positive | None = Field(
            None, description="µs per anneal (the paper used 1; None: the device's default)"
        )
        timeout: Positive | None = like(QPUOptions, "timeout", default=300.0)
        token: SecretStr | None = Field(
            None, description="Leap API token (None: DWAVE_API_TOKEN or the config file)"
        )

    def device_parameters(self) -> dict[str, Any]:
        annealing_time = self.options.annealing_time
        return {} if annealing_time is None else {"annealing_time": annealing_time}

    def open_device(self) -> dimod.Sampler:
        from dwave.system import DWaveSampler

        token = self.options.token
        if token is None and not credentials_configured():
            raise ConfigError(
                "no D-Wave credentials: set DWAVE_API_TOKEN or create a config file with "
                "`dwave config create` (see docs.ocean.dwavesys.com, 'Configuring Access to Leap')"
            )
        solver = self.options.solver
        config = {"solver": solver} if solver else {}
        if token is not None:
            config["token"] = token.get_secret_value()
        try:
            return DWaveSampler(**config)
        except Exception as error:  # network, authentication, unknown solver: all say why
            reason = first_line(error)
            message = f"could not open D-Wave solver {solver or '(default)'}: {reason}"
            raise ConfigError(message) from error
