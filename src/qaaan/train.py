"""Training the associative adversarial network (paper section 6, algorithm of Fig. 3).

Each iteration:

1. draw latent spins z from the prior (the Boltzmann machine through its sampler: 1000 samples,
   the first ``batch_size`` of which feed the generator; or uniform / normal noise),
2. reparameterise them to continuous values (Eq. 14-16) and generate a fake batch,
3. discriminator step on the real and fake batches, labels smoothed with noise,
4. generator step with the non-saturating loss,
5. feature spins = sign of the discriminator's feature layer on the real batch,
6. gray-box Boltzmann machine update (Eq. 11-12) from the feature spins and the model samples;

and with ``ema`` (beyond the paper) the generator's weight average follows step 4
(`qaaan.averaging`), and grids and generated images come from it.

Checkpoints are written atomically (temporary file, then rename) and hold everything resuming
needs, so that K iterations, a stop, and ``--resume`` for K more give the same weights as 2K
iterations straight. Under torchrun the loop runs data-parallel (`qaaan.distributed`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from qaaan import averaging, data, distributed, samplers, topology
from qaaan.bm import BoltzmannMachine
from qaaan.config import resolve_device
from qaaan.errors import ConfigError, check_positive_int, check_seed, first_line
from qaaan.nets import Discriminator, Generator, initialise
from qaaan.reparam import reparameterize
from qaaan.temperature import effective_beta

PRIORS = ("bm", "uniform", "normal")
BM_READS = ("auto", "broadcast", "split")  # auto: broadcast for a QPU, split otherwise
RANK_SEED_STRIDE = 1_000_003  # rank r's sampler seed is (seed + r * stride) mod 2**63
CHECKPOINT = "checkpoint.pt"
# a setting that an older checkpoint lacks had today's default then, except these
PREDATING = {"refine": False, "ema": 0.0}
# what QPU samplers report, logged with the losses (totals are over the run)
SAMPLER_FIGURES = ("chain_break_fraction", "qpu_access_seconds", "qpu_failures", "fallback_calls")


@dataclasses.dataclass
class TrainConfig:
    """`qaaan train`: everything a run needs; saved with every checkpoint."""

    dataset: str = "mnist"
    data_dir: str | None = None
    prior: str = "bm"
    topology: str = "chimera"
    latent: int = 100
    sampler: str = "gibbs"
    sampler_options: dict = dataclasses.field(default_factory=dict)
    bm_lr: float = 0.0002
    bm_samples: int = 1000
    bm_every: int = 1
    bm_reads: str = "auto"  # under torchrun: "broadcast" (rank 0 draws), "split" (all ranks draw)
    alpha: float = 4.0
    iterations: int = 5000
    epochs: int | None = None
    batch_size: int = 64
    lr: float = 0.0002
    beta1: float = 0.5
    label_noise: float = 0.1
    width: int = 64
    refine: bool = True  # the generator's 3x3 refinement layers (False: the paper's networks)
    ema: float = 0.0  # decay of the generator's weight average, e.g. 0.999 (0: none, the paper's)
    seed: int = 0
    device: str = "auto"
    out: str = "runs/qaaan"
    checkpoint_every: int = 500
    log_every: int = 25
    beta_eff_every: int = 250
    grid_every: int = 0  # 0: once per epoch

    def check(self) -> None:
        """Refuses bad values with one line naming the value and what is allowed."""
        if self.bm_reads not in BM_READS:
            raise ConfigError(f"unknown bm_reads {self.bm_reads!r}; allowed: {', '.join(BM_READS)}")
        if self.prior not in PRIORS:
            raise ConfigError(f"unknown prior {self.prior!r}; allowed: {', '.join(PRIORS)}")
        if self.dataset not in data.DATASETS:
            raise ConfigError(
                f"unknown dataset {self.dataset!r}; allowed: {', '.join(data.DATASETS)}"
            )
        for name in ("latent", "bm_samples", "bm_every", "iterations", "batch_size", "width"):
            check_positive_int(name, getattr(self, name))
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be at least 2 (batch norm), got {self.batch_size}")
        if not isinstance(self.refine, bool):
            raise ConfigError(f"refine must be true or false, got {self.refine!r}")
        if self.refine and self.width < 2:
            raise ConfigError(f"width must be at least 2 with refine (it halves), got {self.width}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError(f"data_dir must be a path, got {self.data_dir!r}")
        if (
            isinstance(self.grid_every, bool)
            or not isinstance(self.grid_every, int)
            or self.grid_every < 0
        ):
            raise ConfigError(f"grid_every must be an integer >= 0, got {self.grid_every!r}")
        for name in ("checkpoint_every", "log_every", "beta_eff_every"):
            check_positive_int(name, getattr(self, name))
        if self.epochs is not None:
            check_positive_int("epochs", self.epochs)
        check_seed(self.seed)
        for name in ("bm_lr", "lr", "alpha"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < math.inf):
                raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
        if isinstance(self.ema, bool) or not (
            isinstance(self.ema, int | float) and 0 <= self.ema < 1
        ):
            raise ConfigError(
                f"ema must be a number in [0, 1), e.g. 0.999 (0: off), got {self.ema!r}"
            )
        if not 0 <= self.beta1 < 1:
            raise ConfigError(f"beta1 must be in [0, 1), got {self.beta1!r}")
        if not 0 <= self.label_noise < 0.5:
            raise ConfigError(f"label_noise must be in [0, 0.5), got {self.label_noise!r}")
        if self.prior == "bm" and self.bm_samples < self.batch_size:
            raise ConfigError(
                f"bm_samples ({self.bm_samples}) must be at least batch_size ({self.batch_size})"
            )


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
    # paper Fig. 9: 64x64 colour images (LSUN bedrooms or an image folder), a fully connected
    # latent space sampled classically
    "colour": {
        "dataset": "lsun",
        "prior": "bm",
        "topology": "complete",
        "latent": 100,
        "sampler": "gibbs",
        "iterations": 20000,
        "batch_size": 64,
        "width": 64,
        "refine": False,  # the paper's networks: refine was chosen on MNIST only
    },
}


RESUMABLE = (
    "iterations", "epochs", "device", "out", "data_dir",
    "checkpoint_every", "log_every", "beta_eff_every", "grid_every",
)  # fmt: skip


def check_resumable(saved: dict[str, Any], config: TrainConfig) -> None:
    """Refuses to resume a run with settings other than the length, device and logging."""
    current = dataclasses.asdict(config)
    changed = sorted(k for k in current if k not in RESUMABLE and saved.get(k) != current[k])
    if changed:
        name = changed[0]
        raise ConfigError(
            f"--resume: {name} is {current[name]!r} but the run used {saved.get(name)!r} "
            f"(only {', '.join(RESUMABLE)} may change)"
        )


def resume_config(out: Path, changes: dict[str, Any]) -> TrainConfig:
    """The saved config of the run in `out`, with `changes` (the Trainer vets them on resume)."""
    with checkpoint_fits(out / CHECKPOINT):
        return TrainConfig(**{**load_checkpoint(out / CHECKPOINT)["config"], **changes})


class Prior:
    """The generator's latent distribution: a Boltzmann machine with a sampler, or noise."""

    def __init__(
        self,
        config: TrainConfig,
        device: torch.device,
        rng: torch.Generator,
        rank: int = 0,
        draws: bool = True,
    ):
        """`rank`: under torchrun, each rank's sampler gets its own seed (for split reads).
        `draws`: whether this process draws the training samples; if not, it builds no sampler
        (no QPU connection or embedding), only the machine."""
        self.config, self.device, self.rng = config, device, rng
        self.bm: BoltzmannMachine | None = None
        self.sampler: samplers.Sampler | None = None
        if config.prior == "bm":
            graph = topology.make(config.topology, config.latent)
            self.bm = BoltzmannMachine(graph, seed=config.seed, device=device)
            seed = config.sampler_options.get("seed", config.seed)
            if rank and isinstance(seed, int):
                seed = (seed + rank * RANK_SEED_STRIDE) % 2**63  # within what samplers take
            self.sampler = self.make_sampler(seed) if draws else None

    def make_sampler(self, seed: int) -> samplers.Sampler:
        """The configured sampler with its options, seeded with `seed` where it takes a seed."""
        options = {**self.config.sampler_options, "seed": seed}
        if "seed" not in samplers.option_names(self.config.sampler):
            options.pop("seed")
        return samplers.make(self.config.sampler, **options)

    def preview_latent(self, count: int, seed: int) -> torch.Tensor:
        """`count` latent vectors for sample grids and `qaaan sample`.

        Drawn from the prior as it is now by a fresh sampler and generator seeded with `seed`,
        so the same seed gives the same noise and the training's random state is left alone.
        """
        spins = self.make_sampler(seed).sample(self.bm, count) if self.bm is not None else None
        return self._continuous(spins, count, torch.Generator().manual_seed(seed))

    def spins(self, count: int) -> torch.Tensor:
        """`count` model samples of the machine: (count, latent) ±1 float32."""
        return self.sampler.sample(self.bm, count).to(self.device, torch.float32)

    def latent(self, spins: torch.Tensor | None, count: int) -> torch.Tensor:
        """`count` training latent vectors: reparameterised model spins, or noise."""
        if spins is not None:
            # a random subset of the chains: consecutive calls continue the same chains
            spins = spins[torch.randperm(spins.shape[0], generator=self.rng)[:count]]
        return self._continuous(spins, count, self.rng)

    def _continuous(
        self, spins: torch.Tensor | None, count: int, rng: torch.Generator
    ) -> torch.Tensor:
        """Spins reparameterised (Eq. 14-16), or uniform / normal noise for the other priors."""
        shape = (count, self.config.latent)
        if self.config.prior == "uniform":
            return (2 * torch.rand(shape, generator=rng) - 1).to(self.device)
        if self.config.prior == "normal":
            return torch.randn(shape, generator=rng).to(self.device)
        continuous = reparameterize(spins.cpu(), self.config.alpha, rng)
        return continuous.to(self.device, torch.get_default_dtype())

    def state_dict(self) -> dict[str, Any]:
        if self.bm is None:
            return {}
        return {"bm": self.bm.state_dict(), "sampler": self.sampler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.bm is not None:
            self.bm.load_state_dict(state["bm"])
        if self.sampler is not None:
            self.sampler.load_state_dict(state["sampler"])


def variant_for(dataset: str) -> str:
    return "grey28" if dataset in data.GREY_DATASETS else "colour64"


def build_nets(config: TrainConfig, device: torch.device) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(config.seed)
    variant = variant_for(config.dataset)
    generator = Generator(variant, config.latent, config.width, config.refine).to(device)
    discriminator = Discriminator(variant, config.width, features=config.latent).to(device)
    generator.apply(initialise)
    discriminator.apply(initialise)
    return generator, discriminator


def save_atomically(state: dict[str, Any], path: Path) -> None:
    """Writes `state` to a temporary file beside `path`, then renames it over `path`."""
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by `save_atomically`, loaded without executing pickled code."""
    if not path.is_file():
        raise ConfigError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        raise ConfigError(
            f"checkpoint {str(path)!r} is corrupt or not a qaaan checkpoint "
            "(it does not load as plain tensors with weights_only=True)"
        ) from None
    if not isinstance(state, dict) or "config" not in state or "generator" not in state:
        raise ConfigError(f"checkpoint {str(path)!r} is not a qaaan training checkpoint")
    if isinstance(state["config"], dict):  # settings the run predates: what they were then
        state["config"] = {**dataclasses.asdict(TrainConfig()), **PREDATING, **state["config"]}
    return state


@contextlib.contextmanager
def checkpoint_fits(path: Path):
    """Turns a checkpoint whose parts do not fit a run (missing, mistyped, misshapen) into one
    clear error; the file itself is only read."""
    try:
        yield
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as error:
        reason = first_line(error)
        raise ConfigError(f"checkpoint {str(path)!r} does not fit a qaaan run: {reason}") from None


def _smoothed(target: float, count: int, noise: float, rng: torch.Generator) -> torch.Tensor:
    """Labels near `target` (1 real, 0 fake), moved inwards by up to `noise`."""
    jitter = noise * torch.rand(count, generator=rng)
    return (target - jitter) if target == 1.0 else (target + jitter)


def reads_split(config: TrainConfig, world_size: int) -> bool:
    """Whether the processes share the machine's reads (split) or rank 0 draws them all and
    broadcasts them (broadcast: the other ranks build no sampler, so a QPU is connected once).

    auto: broadcast for the QPU path (one call per iteration), split for samplers that run here.
    """
    if world_size == 1 or config.prior != "bm":
        return False
    mode = config.bm_reads
    if mode == "auto":
        mode = "broadcast" if samplers.is_qpu_path(config.sampler) else "split"
    if mode == "split" and config.bm_samples % world_size:
        raise ConfigError(
            f"bm_reads='split' needs bm_samples ({config.bm_samples}) divisible by the "
            f"{world_size} processes"
        )
    return mode == "split"


class Trainer:
    """One run: nets, optimisers, prior, data order, and the loop of Fig. 3."""

    def __init__(self, config: TrainConfig, resume: bool = False):
        config.check()
        self.config = config
        self.world, self.device = distributed.start(resolve_device(config.device))
        self.out = Path(config.out)
        self.rng = torch.Generator().manual_seed(config.seed)
        self.dataset = data.load(config.dataset, config.data_dir)
        # every rank walks the global batch order and keeps its share
        self.global_batch = config.batch_size * self.world.size
        if config.prior == "bm" and config.bm_samples < self.global_batch:
            raise ConfigError(
                f"bm_samples ({config.bm_samples}) must be at least the global batch "
                f"({self.world.size} processes x {config.batch_size})"
            )
        self.batches = data.Batches(self.dataset, self.global_batch, config.seed)
        self.total = config.epochs * self.batches.per_epoch if config.epochs else config.iterations
        generator, discriminator = build_nets(config, self.device)
        # the generator's weight average: a plain copy, kept by rank 0 (which alone uses it)
        keeps_average = config.ema and self.world.is_main
        self.average = averaging.averaged_copy(generator) if keeps_average else None
        self.generator = distributed.parallel(generator, self.world, self.device)
        self.discriminator = distributed.parallel(discriminator, self.world, self.device)
        adam = {"lr": config.lr, "betas": (config.beta1, 0.999)}
        self.opt_g = torch.optim.Adam(self.generator.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), **adam)
        self.split_reads = reads_split(config, self.world.size)
        draws = self.world.is_main or self.split_reads  # with broadcast reads rank 0 alone draws
        self.prior = Prior(config, self.device, self.rng, self.world.rank, draws)
        self.iteration = 0
        if resume:
            self._resume()
        elif (self.out / CHECKPOINT).exists():
            raise ConfigError(
                f"{str(self.out)!r} already holds a run: continue it with --resume, or choose "
                "another --out"
            )

    def _resume(self) -> None:
        with checkpoint_fits(self.out / CHECKPOINT):
            self._restore(load_checkpoint(self.out / CHECKPOINT))

    def _restore(self, state: dict[str, Any]) -> None:
        check_resumable(state["config"], self.config)
        saved_world = state.get("world_size", 1)
        if saved_world != self.world.size:
            raise ConfigError(
                f"--resume: the run used {saved_world} process(es), this is {self.world.size} "
                "(the global batch must stay the same)"
            )
        distributed.plain(self.generator).load_state_dict(state["generator"])
        distributed.plain(self.discriminator).load_state_dict(state["discriminator"])
        if self.average is not None:
            self.average.load_state_dict(state["generator_average"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.prior.load_state_dict(state["prior"])
        if self.split_reads:
            self.prior.sampler.load_state_dict(state["sampler_ranks"][self.world.rank])
        self.rng.set_state(state["rng"])
        self.batches.epoch, self.batches.index = state["data_position"]
        self.iteration = state["iteration"]

    def checkpoint(self) -> None:
        """Rank 0 writes the checkpoint: the state every rank shares, and with split reads each
        rank's sampler state."""
        sampler_ranks = distributed.gather_objects(
            self.prior.sampler.state_dict() if self.split_reads else None, self.world
        )
        if not self.world.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        state = {
            "config": dataclasses.asdict(self.config),
            "iteration": self.iteration,
            "world_size": self.world.size,
            "generator": distributed.plain(self.generator).state_dict(),
            "discriminator": distributed.plain(self.discriminator).state_dict(),
            "generator_average": {} if self.average is None else self.ready_average().state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "prior": self.prior.state_dict(),
            "sampler_ranks": sampler_ranks if self.split_reads else [],
            "rng": self.rng.get_state(),
            "data_position": [self.batches.epoch, self.batches.index],
        }
        save_atomically(state, self.out / CHECKPOINT)

    def step(self) -> dict[str, float]:
        """One iteration of Fig. 3; returns what it measured."""
        config, stats, share = self.config, {}, self.world.share(self.config.batch_size)
        count = self.global_batch  # noise is drawn for the global batch; a rank keeps its share
        real = self.batches.next(share).to(self.device, torch.get_default_dtype())
        start = time.perf_counter()
        model_spins = self._model_spins() if self.prior.bm is not None else None
        stats["sampling_seconds"] = time.perf_counter() - start
        fake = self.generator(self.prior.latent(model_spins, count)[share])

        # discriminator: real -> 1, fake -> 0, labels smoothed with noise; a backward per forward
        real_target = _smoothed(1.0, count, config.label_noise, self.rng)[share].to(self.device)
        fake_target = _smoothed(0.0, count, config.label_noise, self.rng)[share].to(self.device)
        self.opt_d.zero_grad(set_to_none=True)
        real_logit, real_features = self.discriminator(real)
        loss_real = F.binary_cross_entropy_with_logits(real_logit, real_target)
        loss_real.backward()
        fake_logit, _ = self.discriminator(fake.detach())
        loss_fake = F.binary_cross_entropy_with_logits(fake_logit, fake_target)
        loss_fake.backward()
        self.opt_d.step()
        loss_d = loss_real.item() + loss_fake.item()

        # generator: the non-saturating loss, fakes labelled real
        fake_logit, _ = self.discriminator(fake)
        loss_g = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        if self.average is not None:
            averaging.update(self.average, distributed.plain(self.generator), config.ema)
        stats.update(
            loss_d=distributed.average(loss_d, self.world),
            loss_g=distributed.average(loss_g.item(), self.world),
        )

        # the Boltzmann machine learns the sign of the real batch's features (Eq. 11-12)
        if self.prior.bm is not None and self.iteration % config.bm_every == 0:
            feature_spins = torch.where(real_features.detach() > 0, 1.0, -1.0)
            feature_spins = distributed.gather(feature_spins, self.world)
            update = self.prior.bm.update(feature_spins, model_spins, config.bm_lr)
            if not self.prior.bm.parameters_are_finite():
                raise ConfigError(
                    f"the Boltzmann machine's parameters became NaN or infinite at iteration "
                    f"{self.iteration}; lower --bm-lr (the last checkpoint is kept)"
                )
            stats.update(l1=update["l1"], bm_max_change=update["max_change"])
            if self.world.is_main:  # rank 0 logs its sampler's figures
                info = self.prior.sampler.info
                stats.update({key: info[key] for key in SAMPLER_FIGURES if key in info})
                if (self.iteration + 1) % config.beta_eff_every == 0:
                    stats["beta_eff"] = effective_beta(self.prior.bm, model_spins, 20).beta
        return stats

    def _model_spins(self) -> torch.Tensor:
        """The machine's samples: drawn by rank 0 and broadcast, or a share by every rank."""
        count, world = self.config.bm_samples, self.world
        if self.split_reads:
            return distributed.gather(self.prior.spins(count // world.size), world)
        if world.is_main:
            return distributed.broadcast(self.prior.spins(count), world)
        spins = torch.empty(count, self.config.latent, dtype=torch.float32, device=self.device)
        return distributed.broadcast(spins, world)

    def ready_average(self) -> nn.Module:
        """The weight average with batch-norm statistics for its weights, from latents of the
        prior as it is now (drawn afresh, so the training's random state is left alone)."""
        latent = self.prior.preview_latent(averaging.STANDING_LATENTS, self.config.seed)
        return averaging.standing_statistics(self.average, latent)

    def save_grid(self, name: str) -> Path:
        """A grid of 64 samples: from the weight average if there is one."""
        latent = self.prior.preview_latent(64, self.config.seed)
        average = self.average is not None
        generator = self.ready_average() if average else distributed.plain(self.generator)
        generator.eval()
        with torch.no_grad():
            images = generator(latent)
        generator.train()
        path = self.out / "samples" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        torchvision.utils.save_image(images, path, nrow=8, normalize=True, value_range=(-1, 1))
        return path

    def run(self) -> dict[str, Any]:
        """Trains up to the configured total, with progress, logs, grids and checkpoints.

        Under torchrun every rank trains; rank 0 alone shows progress and writes files.
        """
        if self.world.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            config_json = json.dumps(dataclasses.asdict(self.config), indent=2)
            (self.out / "config.json").write_text(config_json)
        writer = SummaryWriter(str(self.out / "tensorboard")) if self.world.is_main else None
        progress = tqdm(
            total=self.total, initial=self.iteration, desc="train", unit="it",
            disable=not self.world.is_main,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            last = self._iterate(progress, writer, started)
        finally:
            progress.close()  # ends its line, also when a step fails
            if writer is not None:
                writer.close()
            distributed.stop(self.world)
        return {"iterations": self.iteration, "seconds": time.perf_counter() - started, **last}

    def _iterate(self, progress: tqdm, writer: SummaryWriter | None, started: float) -> dict:
        """The iterations up to the total, with logs, grids and checkpoints; the last stats."""
        config = self.config
        grid_every = config.grid_every or self.batches.per_epoch
        sampling, last = 0.0, {}
        while self.iteration < self.total:
            stats = self.step()
            self.iteration += 1
            sampling += stats.pop("sampling_seconds")
            last.update(stats)
            if self.iteration % config.log_every == 0 or self.iteration == self.total:
                stats["sampling_share"] = sampling / (time.perf_counter() - started)
                shown = {k: round(v, 3) for k, v in last.items() if k in ("loss_d", "loss_g", "l1")}
                progress.set_postfix(shown)
            for key, value in stats.items():
                if writer is not None:
                    writer.add_scalar(key, value, self.iteration)
            at_end = self.iteration == self.total
            if self.world.is_main and (self.iteration % grid_every == 0 or at_end):
                self.save_grid(f"iteration_{self.iteration:06d}")
            if self.iteration % config.checkpoint_every == 0 or at_end:
                self.checkpoint()
            progress.update(1)
        return last


def generated_images(run: Path, count: int, seed: int, device: str = "auto") -> torch.Tensor:
    """`count` images (N, C, H, W) in [-1, 1] from the trained run in `run`, on the CPU."""
    check_positive_int("n", count)
    check_seed(seed)
    path = Path(run) / CHECKPOINT
    state = load_checkpoint(path)
    with checkpoint_fits(path):
        config = dataclasses.replace(TrainConfig(**state["config"]), device=device)
        config.check()
    torch_device = resolve_device(device)
    generator, _ = build_nets(config, torch_device)
    prior = Prior(config, torch_device, torch.Generator(), draws=False)  # previews draw afresh
    with checkpoint_fits(path):
        generator.load_state_dict(state["generator_average" if config.ema else "generator"])
        if prior.bm is not None:
            prior.bm.load_state_dict(state["prior"]["bm"])
    generator.eval()
    latent = prior.preview_latent(count, seed)
    with torch.no_grad():
        return torch.cat([generator(chunk).cpu() for chunk in latent.split(1000)])


def generate(run: Path, count: int, seed: int, out: Path, device: str = "auto") -> Path:
    """Writes `count` images of the run in `run`: an .npz of images (N, C, H, W) or a PNG grid."""
    if out.suffix not in (".npz", ".png"):
        raise ConfigError(f"--out must end in .npz or .png, got {str(out)!r}")
    images = generated_images(run, count, seed, device)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
        np.savez_compressed(out, images=images.numpy())
    else:
        torchvision.utils.save_image(images, out, nrow=8, normalize=True, value_range=(-1, 1))
    return out
