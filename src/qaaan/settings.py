"""Every setting of a command, declared once: one pydantic model per command, and the presets.

Each field holds its type, default, range and a one-line description. From these come the
command-line options (`qaaan.cli`), the loading and checking of ``--config`` files (TOML or
YAML, nested values included), which settings may change on ``--resume`` (fields marked
``resumable``), the settings saved with a checkpoint, and the settings tables of the
documentation (`markdown_table`, ``python -m qaaan.settings``). A sampler's own options are
declared the same way, by the sampler (`qaaan.samplers.options`).

Precedence: the defaults, then a preset, then the file, then the options given on the command
line. A value of the wrong type or out of range is refused in one line naming the key, the value
and what is allowed (`qaaan.errors.validate`).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic.fields import FieldInfo

from qaaan.errors import ConfigError, first_line, validate
from qaaan.topology import TOPOLOGIES

DATASETS = ("mnist", "mnist-10k", "fashion-mnist", "folder", "lsun")
Seed = Annotated[int, Field(ge=0, lt=2**63)]
Device = Literal["auto", "cpu", "cuda"]
MnistData = Literal["mnist", "mnist-10k"]  # the data the experiments of section 7 train on
MAX_NODES = 65_536  # a latent machine larger than any annealer's working graph
LEARNED_PRIORS = ("bm", "qbm", "qcbm")  # priors that learn D's feature distribution
SAMPLED_PRIORS = ("bm", "qbm")  # priors drawn by the settings' sampler
MAX_QUBITS = 12  # the exact quantum machine's dense Hamiltonian: 2^12 x 2^12
MAX_BORN_QUBITS = 16  # the circuit Born machine's state vector: 2^16 amplitudes
DEFAULT_BORN_QUBITS = 8


def setting(
    default: Any,
    description: str,
    *,
    resumable: bool = False,
    priors: tuple[str, ...] | None = None,
    **rules: Any,
) -> Any:
    """A field: its default, its description (the CLI's help and the docs), its rules
    (pydantic's ge, gt, lt, ...), whether ``--resume`` may change it and, for a training
    setting that only some priors read, those `priors`."""
    extra = {"resumable": True} if resumable else {}
    if priors is not None:
        extra["priors"] = priors
    return Field(default, description=description, json_schema_extra=extra or None, **rules)


def like(model: type[BaseModel], name: str, **changes: Any) -> Any:
    """The field `name` of `model` (description, range), with `changes` such as its default:
    for a setting that another command passes on unchanged."""
    return FieldInfo.merge_field_infos(model.model_fields[name], **changes)


def number(default: float, description: str, **rules: Any) -> Any:
    """A finite float setting."""
    return setting(default, description, allow_inf_nan=False, **rules)


def checked_value(model: type[BaseModel], name: str, value: Any, where: str) -> Any:
    """`value` checked against the field `name` of `model` alone (its type and range), or a
    `ConfigError` naming `where` it was given; rules that join several fields are not checked."""
    field = model.model_fields.get(name)
    if field is None:
        allowed = ", ".join(model.model_fields)
        raise ConfigError(f"{where}: unknown setting {name!r}; allowed: {allowed}")
    config = ConfigDict(strict=True, allow_inf_nan=False)
    try:
        return TypeAdapter(Annotated[field.annotation, field], config=config).validate_python(value)
    except ValidationError as error:
        message = error.errors(include_url=False)[0]["msg"]
        raise ConfigError(f"{where} = {value!r}: {message[:1].lower() + message[1:]}") from None


class Settings(BaseModel):
    """Strict types (an int passes where a float is asked for), no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)

    @classmethod
    def resumable(cls) -> tuple[str, ...]:
        """The settings that ``--resume`` may change (the run's length, device and logging)."""
        return tuple(name for name, field in cls.model_fields.items() if _is_resumable(field))

    def check_nested(self) -> None:
        """Checks of values that other models declare: the sampler's options, if the model has
        a sampler."""
        from qaaan import samplers

        if "sampler" in type(self).model_fields:
            samplers.check(self.sampler, self.sampler_options)

    @classmethod
    def without_secrets(cls, values: dict[str, Any], normalise: bool = False) -> dict[str, Any]:
        """`values` without the sampler options that carry credentials (a token), if the model
        has a sampler; with `normalise`, the options completed with their defaults, for
        comparing."""
        from qaaan import samplers

        if "sampler" not in cls.model_fields:
            return values
        options = values.get("sampler_options")
        sampler = values.get("sampler", cls.model_fields["sampler"].default)
        if not isinstance(options, dict) or not isinstance(sampler, str):
            return values
        return {**values, "sampler_options": samplers.public_options(sampler, options, normalise)}

    def public(self) -> dict[str, Any]:
        """The settings as plain values without credentials: what is saved with a run."""
        return self.without_secrets(self.model_dump())

    @classmethod
    def applies(cls, name: str, values: dict[str, Any]) -> bool:
        """Whether the setting `name` is read by a run with `values` (every setting is, unless
        a model says otherwise)."""
        return True


def _is_resumable(field: FieldInfo) -> bool:
    return bool((field.json_schema_extra or {}).get("resumable"))


class TrainSettings(Settings):
    """`qaaan train`: everything a run needs; saved with every checkpoint."""

    dataset: Literal[DATASETS] = setting("mnist", "training images")
    data_dir: str | None = setting(
        None, "data directory (default: $QAAAN_DATA, else ~/.cache/qaaan)", resumable=True
    )
    prior: Literal["bm", "qbm", "qcbm", "uniform", "normal"] = setting(
        "bm", "the generator's latent: Boltzmann machine, quantum BM, circuit Born machine, noise"
    )
    topology: Literal[TOPOLOGIES] = setting(
        "chimera", "logical graph of the Boltzmann machine", priors=SAMPLED_PRIORS
    )
    latent: int = setting(
        100, "latent size: spins of the machine, features of D", ge=1, le=MAX_NODES
    )
    sampler: str = setting(
        "gibbs", "the machine's sampler: a name from `qaaan samplers` (sqa for prior qbm)",
        priors=SAMPLED_PRIORS,
    )  # fmt: skip
    sampler_options: dict[str, Any] = setting(
        {}, "the sampler's options (KEY=VALUE on the command line, e.g. sweeps=4; see "
        "`qaaan samplers`)",
        priors=SAMPLED_PRIORS,
    )  # fmt: skip
    bm_lr: float = number(
        0.0002, "the machine's learning rate (Eq. 11-12)", gt=0, priors=SAMPLED_PRIORS
    )
    bm_optimizer: Literal["sgd", "adam"] = setting(
        "sgd", "optimiser of the machine's quasi-objective (sgd: exactly Eq. 11-12)",
        priors=SAMPLED_PRIORS,
    )  # fmt: skip
    gamma: float = number(
        0.5, "qbm: the transverse field Gamma of H = E - Gamma sum X", ge=0, priors=("qbm",)
    )
    gamma_schedule: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = setting(
        None, "qbm: Gamma at evenly spaced points of the run, linear between (e.g. 1,0.1)",
        min_length=2, priors=("qbm",),
    )  # fmt: skip
    learn_gamma: bool = setting(
        False, f"qbm: learn Gamma by the exact log-likelihood gradient (latent <= {MAX_QUBITS})",
        priors=("qbm",),
    )  # fmt: skip
    qubits: int | None = setting(
        None, "qcbm: qubits n, read in the z and x bases (latent = 2n; default: latent / 2)",
        ge=1, le=MAX_BORN_QUBITS, priors=("qcbm",),
    )  # fmt: skip
    qcbm_depth: int = setting(
        4, "qcbm: entangling layers of the circuit", ge=1, le=64, priors=("qcbm",)
    )
    qcbm_loss: Literal["mmd", "kl"] = setting(
        "mmd", "qcbm: loss against the feature spins (MMD with Gaussian kernels, or KL)",
        priors=("qcbm",),
    )  # fmt: skip
    qcbm_gradient: Literal["statevector", "parameter-shift"] = setting(
        "statevector", "qcbm: gradients by autograd through the state vector, or parameter shift",
        priors=("qcbm",),
    )  # fmt: skip
    qcbm_lr: float = number(
        0.01, "qcbm: Adam learning rate of the circuit's angles", gt=0, priors=("qcbm",)
    )
    bm_samples: int = setting(
        1000, "model samples per machine update (the paper's 1000)", ge=1, priors=LEARNED_PRIORS
    )
    bm_every: int = setting(
        1, "update the machine every this many iterations", ge=1, priors=LEARNED_PRIORS
    )
    bm_reads: Literal["auto", "broadcast", "split"] = setting(
        "auto", "under torchrun: rank 0 draws and broadcasts, or every rank draws a share",
        priors=LEARNED_PRIORS,
    )  # fmt: skip
    alpha: float = number(
        4.0, "reparameterisation sharpness (Eq. 14, the paper's 4)", gt=0, priors=LEARNED_PRIORS
    )
    iterations: int = setting(5000, "total iterations of the run", ge=1, resumable=True)
    epochs: int | None = setting(
        None, "total epochs instead of iterations, e.g. 20", ge=1, resumable=True
    )
    batch_size: int = setting(64, "images per iteration (per process under torchrun)", ge=2)
    lr: float = number(0.0002, "Adam learning rate of G and D (the paper's 0.0002)", gt=0)
    beta1: float = number(0.5, "Adam beta1 of G and D", ge=0, lt=1)
    label_noise: float = number(0.1, "labels smoothed by up to this much", ge=0, lt=0.5)
    width: int = setting(64, "channels of D's first convolution (G mirrors it)", ge=1)
    refine: bool = setting(True, "the generator's 3x3 refinement layers (off: the paper's)")
    ema: float = number(
        0.0, "decay of the generator's weight average, e.g. 0.999 (0: off)", ge=0, lt=1
    )
    seed: Seed = setting(0, "seed of the nets, the data order, the noise and the sampler")
    device: Device = setting("auto", "where the nets and torch samplers run", resumable=True)
    precision: Literal["float32", "bfloat16"] = setting(
        "float32", "arithmetic of the nets' passes: bfloat16 autocast is faster on CPUs with "
        "AVX512-BF16 or AMX and on GPUs; weights, losses and gradients stay float32",
        resumable=True,
    )  # fmt: skip
    channels_last: bool = setting(
        False, "the nets' images in channels-last memory order (faster convolutions in bfloat16)",
        resumable=True,
    )  # fmt: skip
    compile: bool = setting(
        False, "compile the nets with torch.compile (needs a C compiler; about 30 s at the start)",
        resumable=True,
    )  # fmt: skip
    out: str = setting("runs/qaaan", "run directory", resumable=True)
    checkpoint_every: int = setting(500, "iterations between checkpoints", ge=1, resumable=True)
    log_every: int = setting(25, "iterations between progress updates", ge=1, resumable=True)
    beta_eff_every: int = setting(
        250, "iterations between estimates of beta_eff", ge=1, resumable=True
    )
    grid_every: int = setting(
        0, "iterations between sample grids (0: once per epoch)", ge=0, resumable=True
    )

    @model_validator(mode="before")
    @classmethod
    def _defaults_of_the_prior(cls, values: Any) -> Any:
        """The quantum machine's default sampler is sqa, which samples it at Gamma > 0; the
        circuit Born machine's latent is twice its qubits, 8 unless either is given."""
        if not isinstance(values, dict):
            return values
        if values.get("prior") == "qbm" and "sampler" not in values:
            return {**values, "sampler": "sqa"}
        if values.get("prior") == "qcbm" and "latent" not in values:
            qubits = values.get("qubits", DEFAULT_BORN_QUBITS)
            return {**values, "latent": 2 * qubits if isinstance(qubits, int) else qubits}
        return values

    @model_validator(mode="after")
    def _consistent(self) -> TrainSettings:
        if self.refine and self.width < 2:
            raise ValueError(f"width must be at least 2 with refine (it halves), got {self.width}")
        if self.learn_gamma and self.gamma_schedule:
            raise ValueError(
                "learn_gamma and gamma_schedule exclude each other: Gamma is learned or scheduled"
            )
        if self.prior == "qcbm":
            self._check_born_latent()
        if self.learn_gamma and self.latent > MAX_QUBITS:
            raise ValueError(
                f"learn_gamma needs latent <= {MAX_QUBITS} (the exact log-likelihood), "
                f"got latent {self.latent}"
            )
        if self.learned_prior and self.bm_samples < self.batch_size:
            raise ValueError(
                f"bm_samples ({self.bm_samples}) must be at least batch_size ({self.batch_size})"
            )
        return self

    def _check_born_latent(self) -> None:
        """Each qubit gives two latent spins (z and x readout): latent = 2 x qubits."""
        qubits = self.qubits if self.qubits is not None else self.latent // 2
        if self.latent != 2 * qubits or qubits > MAX_BORN_QUBITS:
            raise ValueError(
                f"prior qcbm reads every qubit in two bases, so latent = 2 x qubits with at most "
                f"{MAX_BORN_QUBITS} qubits; got latent {self.latent} and qubits {self.qubits}"
            )
        self.qubits = qubits

    def check_nested(self) -> None:
        from qaaan import samplers

        if self.sampled_prior:
            samplers.check(self.sampler, self.sampler_options)
        quantum = self.gamma > 0 or any(self.gamma_schedule or ()) or self.learn_gamma
        accepting = samplers.transverse_field_samplers()
        if self.prior == "qbm" and quantum and self.sampler not in accepting:
            raise ConfigError(
                f"sampler = {self.sampler!r}: the quantum machine at Gamma > 0 needs one of "
                f"{', '.join(accepting)}"
            )

    @classmethod
    def applies(cls, name: str, values: dict[str, Any]) -> bool:
        """Whether the setting `name` is read by a run of the prior in `values` (sampler is not,
        for uniform noise)."""
        prior = values.get("prior", cls.model_fields["prior"].default)
        extra = cls.model_fields[name].json_schema_extra or {}
        return prior in extra.get("priors", (prior,))

    @property
    def learned_prior(self) -> bool:
        """Whether the prior learns the feature distribution (and draws model samples)."""
        return self.prior in LEARNED_PRIORS

    @property
    def sampled_prior(self) -> bool:
        """Whether the prior is drawn by the settings' sampler."""
        return self.prior in SAMPLED_PRIORS


class SampleBMSettings(Settings):
    """`qaaan sample-bm`: sample a random Boltzmann machine and check the samples."""

    topology: Literal[TOPOLOGIES] = like(TrainSettings, "topology")
    nodes: int = setting(100, "number of nodes N", ge=1, le=MAX_NODES)
    sampler: str = like(TrainSettings, "sampler")
    sampler_options: dict[str, Any] = like(TrainSettings, "sampler_options")
    reads: int = setting(1000, "samples per call", ge=1)
    calls: int = setting(20, "number of sample calls", ge=1)
    h_scale: float = number(0.5, "h drawn from U[-h_scale, h_scale]", ge=0)
    j_scale: float = number(0.3, "J drawn from U[-j_scale, j_scale]", ge=0)
    seed: Seed = setting(0, "seed of the random machine")
    device: Device = like(TrainSettings, "device")


class SampleSettings(Settings):
    """`qaaan sample`: images of a trained run."""

    checkpoint: str = setting(..., "a run directory written by `qaaan train`")
    n: int = setting(64, "number of images", ge=1)
    seed: Seed = setting(0, "seed of the latents: the same seed gives the same images")
    out: str = setting("samples.png", ".npz (images in [-1, 1]) or .png (a grid)")
    device: Device = like(TrainSettings, "device")


class SeededRuns(Settings):
    """Settings of an experiment that runs the seeds `seed`, `seed` + 1, ... (`runs` of them)."""

    @model_validator(mode="after")
    def _seeds_fit(self) -> SeededRuns:
        if self.seed + self.runs > 2**63:
            raise ValueError(f"seed + runs must be at most 2**63, got {self.seed} + {self.runs}")
        return self


class FitSettings(Settings):
    """A run of a sweep spec of kind ``fit``: a fully visible 36-node Boltzmann machine learns 6x6
    binarised MNIST alone (paper section 6.2), scored by the L1 metric (Eq. 13)."""

    dataset: MnistData = setting("mnist", "images to binarise")
    data_dir: str | None = like(TrainSettings, "data_dir")
    topology: Literal[TOPOLOGIES] = setting("chimera", "the machine's 36-node graph")
    sampler: str = like(TrainSettings, "sampler")
    sampler_options: dict[str, Any] = like(TrainSettings, "sampler_options")
    lr: float = number(
        0.001, "learning rate of Eq. 11-12 (the paper's: 0.001 with MCMC, Fig. 7; 0.03 with "
        "annealers, Fig. 6)", gt=0,
    )  # fmt: skip
    iterations: int = setting(600, "updates", ge=1)
    batch_size: int = setting(500, "data samples per update", ge=1)
    model_samples: int = setting(1000, "model samples per update", ge=1)
    seed: Seed = setting(0, "seed of the machine's start, the data draws and the sampler")
    out: str = setting("runs/fit", "output folder")


class GrayboxSettings(SeededRuns):
    """`qaaan experiment graybox`: gray-box against white-box training on a device at an unknown
    temperature (paper section 4)."""

    dataset: MnistData = setting("mnist-10k", "images to binarise")
    data_dir: str | None = like(TrainSettings, "data_dir")
    topology: Literal["complete", "bipartite", "chimera"] = setting(
        "chimera", "the machine's 36-node graph"
    )
    device: Literal["2000q", "advantage", "advantage2"] = setting(
        "2000q", "the emulated QPU (mock-dwave's device: its control and readout errors)"
    )
    device_beta: float = setting(
        2.5, "the device's effective inverse temperature, unknown to training", gt=0,
        allow_inf_nan=False,
    )  # fmt: skip
    control_error: list[Annotated[float, Field(ge=0, le=1)]] | None = setting(
        None, "[sigma_h, sigma_J] of the device's control errors (default: the device's)",
        min_length=2, max_length=2,
    )  # fmt: skip
    lr: float = setting(0.03, "learning rate of Eq. 11-12", gt=0)
    iterations: int = setting(200, "updates per training", ge=1)
    batch_size: int = setting(500, "data samples per update", ge=1)
    model_samples: int = setting(1000, "model samples per update", ge=1)
    final_window: int = setting(20, "last iterations averaged for the final L1", ge=1)
    runs: int = setting(3, "seeds", ge=1)
    seed: Seed = setting(0, "first seed")
    out: str = setting("runs/graybox", "output directory")


# set by the sweep itself: the spec's seeds and a folder per run under --out
SET_BY_SWEEP = ("seed", "out")


class EvaluateSettings(Settings):
    """The ``[evaluate]`` table of a sweep spec: how every run is scored."""

    images: int = setting(10_000, "generated images scored per run (IS, FID, classes)", ge=2)


class SweepSpec(Settings):
    """A `qaaan sweep` spec (a .toml or .yaml file): the runs of one experiment."""

    kind: Literal["train", "fit"] = setting(
        "train", "what every run is: train, a QAAAN scored by IS, FID and class shares (`qaaan "
        "train` settings); fit, a 36-node Boltzmann machine learning 6x6 MNIST alone, scored by "
        "L1 (Eq. 13; the settings of a fit run below)",
    )  # fmt: skip
    seeds: list[Seed] = setting(..., "seeds of every grid point, distinct", min_length=1)
    baseline: dict[str, Any] | None = setting(
        None, "the grid point the others are compared with, e.g. { prior = 'uniform' } or "
        "{ variant = 'uniform' }",
    )  # fmt: skip
    base: dict[str, Any] = setting({}, "settings of every run: any setting of its kind's runs")
    variants: dict[str, dict[str, Any]] = setting(
        {}, "named points, each a table of settings (e.g. a prior with its sampler), crossed "
        "with the grid",
    )  # fmt: skip
    grid: dict[str, list[Any]] = setting(
        {}, "settings to vary, each a list of values: a run per combination"
    )
    evaluate: EvaluateSettings = setting(EvaluateSettings(), "how runs are scored")

    @model_validator(mode="before")
    @classmethod
    def _evaluate_table(cls, values: Any) -> Any:
        """``[evaluate]`` is a table of its own settings, checked as every settings mapping."""
        if isinstance(values, dict) and isinstance(values.get("evaluate"), dict):
            return {
                **values,
                "evaluate": validate(EvaluateSettings, values["evaluate"], "evaluate"),
            }
        return values

    @model_validator(mode="after")
    def _settings_known(self) -> SweepSpec:
        repeated = sorted({seed for seed in self.seeds if self.seeds.count(seed) > 1})
        if repeated:
            raise ValueError(f"seeds must differ; repeated: {', '.join(map(str, repeated))}")
        if not self.variants and not self.grid:
            raise ValueError("a spec needs [variants] or [grid]: there is nothing to run")
        for name, value in self.base.items():
            self._check_setting(f"base.{name}", name, value)
        for variant, values in self.variants.items():
            for name, value in values.items():
                self._check_setting(f"variants.{variant}.{name}", name, value)
        for name, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid.{name} must be a non-empty list of values, got {values!r}")
            for value in values:
                self._check_setting(f"grid.{name}", name, value)
        self._given_once()
        for name, value in (self.baseline or {}).items():
            allowed = self.values_of(name)
            if value not in allowed:
                raise ValueError(
                    f"baseline {name} = {value!r} is not a value of the spec's points "
                    f"({name}: {allowed or 'not varied'})"
                )
        return self

    def _given_once(self) -> None:
        """A setting comes from one place: base, a variant or the grid."""
        for where, names in (
            ("base", set(self.base)),
            *((f"variants.{name}", set(values)) for name, values in self.variants.items()),
        ):
            overlap = sorted(names & set(self.grid))
            if overlap:
                raise ValueError(f"{', '.join(overlap)} in both {where} and grid: give each once")
        for variant, values in self.variants.items():
            overlap = sorted(set(values) & set(self.base))
            if overlap:
                raise ValueError(
                    f"{', '.join(overlap)} in both base and variants.{variant}: give each once"
                )

    def values_of(self, name: str) -> list[Any]:
        """The values the spec's points take for `name` (the variants' names for 'variant')."""
        if name == "variant":
            return list(self.variants)
        from_variants = [values[name] for values in self.variants.values() if name in values]
        return self.grid.get(name, from_variants)

    @property
    def run_settings(self) -> type[Settings]:
        """The settings of one run of the spec's kind."""
        return RUN_SETTINGS[self.kind]

    def _check_setting(self, where: str, name: str, value: Any) -> None:
        if name in SET_BY_SWEEP:
            raise ConfigError(f"{where}: set by the sweep (seeds, and a folder per run)")
        checked_value(self.run_settings, name, value, where)
        if name == "sampler":
            from qaaan import samplers

            samplers.check(value, {})


RUN_SETTINGS: dict[str, type[Settings]] = {"train": TrainSettings, "fit": FitSettings}


class SweepSettings(Settings):
    """`qaaan sweep`: where a spec's runs go and what runs them."""

    out: str | None = setting(None, "output folder (default: runs/ and the spec's name)")
    engine: Literal["local", "ray"] = setting(
        "local", "local: worker processes on this machine; ray: a Ray cluster"
    )
    only: str | None = setting(
        None, "run only the points whose names match this pattern (* and ? as in a shell, e.g. "
        "'prior=bm,*'); a later call without it, in the same folder, finds their runs done",
    )  # fmt: skip
    workers: int = setting(1, "local: runs at once, sharing this machine's cores", ge=1)
    address: str | None = setting(
        None, "ray: the cluster's address, e.g. ray://head:10001 (default: a local Ray)"
    )
    cpus_per_run: float = number(1.0, "ray: CPUs each run reserves", gt=0)
    gpus_per_run: float = number(0.0, "ray: GPUs each run reserves (e.g. 0.25)", ge=0)


PRESETS: dict[str, dict[str, Any]] = {
    # the README's main command: a few minutes on 2 CPU cores, offline, recognisable digits
    "quick": {
        "dataset": "mnist-10k",
        "iterations": 3000,
        "batch_size": 64,
        "width": 32,
        "checkpoint_every": 500,
        "grid_every": 500,
        "beta_eff_every": 500,
    },
    # the MNIST table's quality (its weight-averaged gibbs row at 15000 iterations) in the least
    # time on a CPU with bfloat16: batch 128 at twice the learning rate for half the iterations,
    # the same images; chosen on probe seed 100, checked on seeds 0-2 (docs/benchmarks.md)
    "mnist": {
        "dataset": "mnist",
        "iterations": 7500,
        "batch_size": 128,
        "lr": 0.0004,
        "width": 32,
        "ema": 0.999,
        "precision": "bfloat16",
        "channels_last": True,
    },
    # paper Fig. 9: 64x64 colour images, a fully connected latent space sampled classically;
    # the paper's networks (refine was chosen on MNIST only)
    "colour": {
        "dataset": "lsun",
        "topology": "complete",
        "sampler": "gibbs",
        "iterations": 20000,
        "width": 64,
        "refine": False,
        "out": "runs/colour",
    },
}


def torch_device(name: str) -> torch.device:
    """The torch device of a ``device`` setting: auto is CUDA when there is one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for, but no CUDA device is available")
    return torch.device(name)


def read_file(path: Path, what: str = "config file") -> dict[str, Any]:
    """The mapping in a .toml, .yaml or .yml file, keys with '-' read as '_'; errors call the
    file `what` (a config file, a spec)."""
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist or is not a file")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {str(path)!r} is not UTF-8 text") from None
    try:
        if path.suffix == ".toml":
            content = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            content = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"{what} {str(path)!r} must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{what} {str(path)!r} is not valid: {first_line(error)}") from None
    if not isinstance(content, dict) or not all(isinstance(key, str) for key in content):
        raise ConfigError(f"{what} {str(path)!r} must hold a mapping of setting names")
    return one_run_length({key.replace("-", "_"): value for key, value in content.items()})


def one_run_length(values: dict[str, Any]) -> dict[str, Any]:
    """`values` given by a user at one place (a file, the options), refused where they give a
    run's length twice, as iterations and as epochs."""
    if values.get("iterations") is not None and values.get("epochs") is not None:
        raise ConfigError(
            f"iterations = {values['iterations']!r} and epochs = {values['epochs']!r} "
            "are both given: give one"
        )
    return values


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """`layers` joined, later ones winning; a mapping (sampler options) is joined key by key.
    A layer's iterations, given without epochs, end an earlier layer's epochs: both are the
    run's length, and epochs would otherwise win."""
    values: dict[str, Any] = {}
    for layer in layers:
        if layer.get("iterations") is not None and layer.get("epochs") is None:
            values.pop("epochs", None)
        for key, value in layer.items():
            both = isinstance(value, dict) and isinstance(values.get(key), dict)
            values[key] = {**values[key], **value} if both else value
    return values


def build(model: type[Settings], *layers: dict[str, Any]) -> Settings:
    """`model` from its defaults and `layers` (later ones win), every value checked."""
    settings = validate(model, merged(*layers))
    settings.check_nested()
    return settings


def resumed(model: type[Settings], saved: dict[str, Any], changes: dict[str, Any]) -> Settings:
    """The saved settings with `changes`, of which only the resumable settings may differ.

    A mapping given (sampler options) adds to the saved one; the credentials that were not
    saved (a token) may be given again, and nothing else in it may change."""
    values = merged(saved, changes)
    comparable = model.without_secrets(values, normalise=True)
    before = model.without_secrets(saved, normalise=True)
    for key in sorted(set(changes) - set(model.resumable())):
        if key in saved and comparable[key] != before[key]:
            raise ConfigError(
                f"--resume: {key} is {comparable[key]!r} but the run used {before[key]!r} "
                f"(only {', '.join(model.resumable())} may change)"
            )
    return build(model, values)


def markdown_table(model: type[BaseModel]) -> str:
    """The settings of `model` as a Markdown table: name, type, default, rule, description."""
    lines = ["| setting | type | default | allowed | description |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        resumable = " (may change on `--resume`)" if _is_resumable(field) else ""
        default = "required" if field.is_required() else f"`{field.default!r}`"
        cells = [
            f"`{field.alias or name}`",
            type_name(field.annotation),
            default if field.default is not None else "",
            rule_text(field),
            (field.description or "").replace("|", "\\|") + resumable,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def type_name(annotation: Any) -> str:
    """A short name of a field's type: int, float, str, bool, one of ..., list of ..."""
    origin = getattr(annotation, "__origin__", None)
    arguments = getattr(annotation, "__args__", ())
    if origin is Literal:
        return "one of " + ", ".join(str(value) for value in arguments)
    if origin is list:
        return f"list of {type_name(arguments[0])}"
    if origin is dict:
        return "mapping"
    if origin is Annotated:
        return type_name(arguments[0])
    if arguments:  # a union: X | None
        return " or ".join(type_name(a) for a in arguments if a is not type(None))
    return getattr(annotation, "__name__", str(annotation))


def rule_text(field: FieldInfo) -> str:
    """The range of a field, e.g. '>= 1', '>= 0, < 1', or ''."""
    symbols = {
        "ge": ">=", "gt": ">", "le": "<=", "lt": "<",
        "min_length": "length >=", "max_length": "length <=",
    }  # fmt: skip
    parts = []
    for rule in field.metadata:
        for attribute, symbol in symbols.items():
            value = getattr(rule, attribute, None)
            if value is not None:
                parts.append(f"{symbol} {value if value != 2**63 else '2**63'}")
    return ", ".join(parts)


COMMANDS = {
    "train": TrainSettings,
    "sample": SampleSettings,
    "sample-bm": SampleBMSettings,
    "experiment graybox": GrayboxSettings,
    "sweep": SweepSettings,
}


def reference() -> str:
    """The settings reference of the documentation: a table per command and per sampler."""
    from qaaan import samplers

    sections = [
        "# Settings reference",
        "",
        "Generated by `python -m qaaan.settings`. Settings are named as in spec and config "
        "files; on the command line a setting is `--kebab-case` (`data_dir` is `--data-dir`).",
        "",
    ]
    for command, model in COMMANDS.items():
        sections += [f"## `qaaan {command}`", "", markdown_table(model)]
    sections += ["## A `qaaan sweep` spec", "", markdown_table(SweepSpec), ""]
    sections += ["Its `[evaluate]` table (kind `train`):", "", markdown_table(EvaluateSettings)]
    sections += ["The settings of a run of kind `fit`:", "", markdown_table(FitSettings)]
    sections += ["# Sampler options", "", "Given as `--sampler-option KEY=VALUE`.", ""]
    for name in samplers.BUILT_IN:
        sections += [f"## `{name}`", "", markdown_table(samplers.options_model(name))]
    return "\n".join(sections)


if __name__ == "__main__":
    sys.stdout.write(reference())
