"""Training the associative adversarial network: one iteration of paper Fig. 3, and the loop.

`Trainer.step` is the algorithm, read top to bottom; `Trainer.run` repeats it with progress,
logs (TensorBoard), sample grids and checkpoints (`qaaan.checkpoint`). Everything the step
uses is built once in `Trainer.__init__`: the nets and their optimisers, the prior (the
Boltzmann machine, its optimiser and its one sampler, `qaaan.priors`), the data order and the
processes' seam (`qaaan.distributed`), which the step calls without asking how many processes
there are.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from qaaan import checkpoint, data, distributed, generation, nets, priors
from qaaan.errors import ConfigError
from qaaan.qbm import gamma_at
from qaaan.settings import TrainSettings, resumed, torch_device
from qaaan.temperature import effective_beta


class Trainer:
    """One run: nets, optimisers, prior, data order, and the loop of Fig. 3."""

    def __init__(self, settings: TrainSettings, resume: bool = False):
        self.settings = settings
        self.world, self.device = distributed.start(torch_device(settings.device))
        if self.device.type == "cuda":  # so that --resume ends as a straight run would
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        self.out = Path(settings.out)
        checkpoint.check_folder(self.out)
        self.rng = torch.Generator().manual_seed(settings.seed)
        self.dataset = data.load(settings.dataset, settings.data_dir)
        # every rank walks the global batch order and keeps its share
        self.global_batch = settings.batch_size * self.world.size
        if settings.learned_prior and settings.bm_samples < self.global_batch:
            raise ConfigError(
                f"bm_samples ({settings.bm_samples}) must be at least the global batch "
                f"({self.world.size} processes x {settings.batch_size})"
            )
        self.batches = data.Batches(self.dataset, self.global_batch, settings.seed)
        self.total = (
            settings.epochs * self.batches.per_epoch if settings.epochs else settings.iterations
        )
        generator, discriminator = nets.build(settings, self.device)
        self.average = None  # kept by rank 0, which alone generates images
        if settings.ema and self.world.is_main:
            self.average = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(settings.ema))
        if settings.compile:  # after the average's copy, which generates in eager mode
            generator.compile()
            discriminator.compile()
        self.generator = distributed.parallel(generator, self.world, self.device)
        self.discriminator = distributed.parallel(discriminator, self.world, self.device)
        adam = {"lr": settings.lr, "betas": (settings.beta1, 0.999)}
        self.opt_g = torch.optim.Adam(self.generator.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), **adam)
        self.reads = distributed.Reads(settings, self.world, self.device)
        self.prior = priors.make(settings, self.device, self.world.rank, self.reads.draws)
        self.iteration, self.writer = 0, None
        if resume:
            with checkpoint.fits(self.out / checkpoint.CHECKPOINT):
                self._restore(checkpoint.load(self.out / checkpoint.CHECKPOINT))
        elif (self.out / checkpoint.CHECKPOINT).exists():
            raise ConfigError(
                f"{str(self.out)!r} already holds a run: continue it with --resume, or choose "
                "another --out"
            )

    def step(self) -> dict[str, float]:
        """One iteration of Fig. 3; returns what it measured."""
        settings, world, stats = self.settings, self.world, {}
        share = world.share(settings.batch_size)
        real = self.batches.next(share).to(self.device, torch.get_default_dtype())

        # 0. the quantum machine's transverse field at this point of the run, if on a schedule
        if settings.gamma_schedule:
            progress = self.iteration / max(self.total - 1, 1)
            self.prior.bm.set_transverse_field(gamma_at(settings.gamma_schedule, progress))

        # 1. model samples z ~ rho of the machine (Eq. 3 and 8; the paper's 1000 per iteration)
        started, model_spins = time.perf_counter(), None
        if self.prior.learns:
            model_spins = self.reads.draw(self.prior, settings.bm_samples)
        stats["sampling_seconds"] = time.perf_counter() - started

        # 2. reparameterise z to continuous latents (Eq. 14-16) and generate a fake batch;
        #    noise is drawn for the global batch and each rank keeps its share
        fake = self.generator(self.prior.latent(model_spins, self.global_batch, self.rng)[share])

        # 3. discriminator step (Eq. 1): real -> 1, fake -> 0, labels smoothed with noise
        real_target, fake_target = self._labels(1.0, share), self._labels(0.0, share)
        self.opt_d.zero_grad(set_to_none=True)
        real_logit, real_features = self.discriminator(real)
        loss_real = F.binary_cross_entropy_with_logits(real_logit, real_target)
        loss_real.backward()
        fake_logit, _ = self.discriminator(fake.detach())
        loss_fake = F.binary_cross_entropy_with_logits(fake_logit, fake_target)
        loss_fake.backward()
        self.opt_d.step()

        # 4. generator step: the non-saturating loss, fakes labelled real; its weight average
        fake_logit, _ = self.discriminator(fake)
        loss_g = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        if self.average is not None:
            self.average.update_parameters(distributed.plain(self.generator))
        stats["loss_d"] = world.average(loss_real.item() + loss_fake.item())
        stats["loss_g"] = world.average(loss_g.item())
        if not self.prior.learns or self.iteration % settings.bm_every:
            return stats

        # 5. feature spins: signs of D's feature layer rho_f (section 6.4) on the real batch.
        #    rho_f is the features of the data (Eq. 9), so only real images; and they are read
        #    from step 3's forward pass, before D's step: the same D whose loss saw them, and
        #    no third pass of the real batch through D per iteration.
        feature_spins = world.gather(torch.where(real_features.detach() > 0, 1.0, -1.0))

        # 6. the prior learns the feature spins; for a Boltzmann machine the gray-box update
        #    (Eq. 11-12), a step on <E>_data - <E>_model
        stats.update(self.prior.learn(feature_spins, model_spins))
        if not self.prior.parameters_are_finite():
            raise ConfigError(
                f"the prior's parameters became NaN or infinite at iteration {self.iteration}; "
                "lower --bm-lr (the last checkpoint is kept)"
            )
        if self._beta_eff_due():
            stats["beta_eff"] = effective_beta(self.prior.bm, model_spins, 20).beta
        return stats

    def _labels(self, target: float, share: slice) -> torch.Tensor:
        """This rank's share of labels for the global batch near `target` (1 real, 0 fake),
        moved inwards by up to ``label_noise``."""
        jitter = self.settings.label_noise * torch.rand(self.global_batch, generator=self.rng)
        labels = (target - jitter) if target == 1.0 else (target + jitter)
        return labels[share].to(self.device)

    def _beta_eff_due(self) -> bool:
        """Whether to estimate beta_eff (Eq. 8) of the model samples under the machine: once
        per beta_eff_every iterations, among those that update it."""
        settings = self.settings
        due = (self.iteration + 1) % settings.beta_eff_every < settings.bm_every
        return due and self.prior.bm is not None

    def run(self) -> dict[str, Any]:
        """Trains up to the total, with progress, logs, grids and checkpoints; rank 0 alone
        shows progress and writes files, from the first iteration that went through on (a
        sampler that refuses the machine leaves no files behind)."""
        progress = tqdm(
            total=self.total, initial=self.iteration, desc="train", unit="it",
            disable=not self.world.is_main,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            last = self._iterate(progress, started)
        finally:
            progress.close()  # ends its line, also when a step fails
            if self.writer is not None:
                self.writer.close()
            distributed.stop(self.world)
        return {"iterations": self.iteration, "seconds": time.perf_counter() - started, **last}

    def _logs(self) -> SummaryWriter | None:
        """Rank 0's TensorBoard writer, opened with the run's folder and config.json."""
        if self.writer is None and self.world.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(json.dumps(self.settings.public(), indent=2))
            self.writer = SummaryWriter(str(self.out / "tensorboard"))
        return self.writer

    def _iterate(self, progress: tqdm, started: float) -> dict:
        """The iterations up to the total, with logs, grids and checkpoints; the last stats."""
        settings = self.settings
        grid_every = settings.grid_every or self.batches.per_epoch
        sampling, last = 0.0, {}
        while self.iteration < self.total:
            stats = self.step()
            writer = self._logs()
            self.iteration += 1
            sampling += stats.pop("sampling_seconds")
            last.update(stats)
            at_end = self.iteration == self.total
            if self.iteration % settings.log_every == 0 or at_end:
                stats["sampling_share"] = sampling / (time.perf_counter() - started)
                shown = {k: round(v, 3) for k, v in last.items() if k in ("loss_d", "loss_g", "l1")}
                progress.set_postfix(shown)
            if writer is not None:
                for key, value in stats.items():
                    writer.add_scalar(key, value, self.iteration)
                if self.iteration % grid_every == 0 or at_end:
                    self.save_grid(f"iteration_{self.iteration:06d}")
            if self.iteration % settings.checkpoint_every == 0 or at_end:
                self.checkpoint()
            progress.update(1)
        return last

    def image_generator(self) -> torch.nn.Module:
        """What generates images: the weight average with standing statistics from latents of
        the prior as it is now, or the generator."""
        if self.average is None:
            return distributed.plain(self.generator)
        latent = self.prior.preview_latent(generation.STANDING_LATENTS, self.settings.seed)
        return generation.standing_statistics(self.average, latent)

    def save_grid(self, name: str) -> Path:
        """A grid of 64 samples drawn afresh from the prior (the same latents every time)."""
        latent = self.prior.preview_latent(generation.GRID, self.settings.seed)
        made = generation.images(self.image_generator(), latent)
        return generation.save_grid(made, self.out / "samples" / f"{name}.png")

    def checkpoint(self) -> None:
        """Rank 0 writes the checkpoint: the state every rank shares, and with split reads each
        rank's sampler state."""
        sampler_ranks = self.reads.rank_states(self.prior)
        if not self.world.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        average = {} if self.average is None else self.image_generator().state_dict()
        state = {
            "format": checkpoint.FORMAT,
            "config": self.settings.public(),
            "iteration": self.iteration,
            "world_size": self.world.size,
            "generator": distributed.plain(self.generator).state_dict(),
            "discriminator": distributed.plain(self.discriminator).state_dict(),
            "generator_average": average,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "opt_bm": self.prior.optimizer.state_dict() if self.prior.learns else {},
            "prior": self.prior.state_dict(),
            "sampler_ranks": sampler_ranks,
            "rng": self.rng.get_state(),
            "data_position": [self.batches.epoch, self.batches.index],
        }
        checkpoint.save(state, self.out / checkpoint.CHECKPOINT)

    def _restore(self, state: dict[str, Any]) -> None:
        resumed(TrainSettings, state["config"], self.settings.public())
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
        if self.prior.learns:
            self.prior.optimizer.load_state_dict(state["opt_bm"])
        self.prior.load_state_dict(state["prior"])
        self.reads.load_rank_states(self.prior, state["sampler_ranks"])
        self.rng.set_state(state["rng"])
        self.batches.epoch, self.batches.index = state["data_position"]
        self.iteration = state["iteration"]


def resume_settings(out: Path, changes: dict[str, Any]) -> TrainSettings:
    """The saved settings of the run in `out` with `changes` (only resumable ones may differ)."""
    path = out / checkpoint.CHECKPOINT
    with checkpoint.fits(path):
        return resumed(TrainSettings, checkpoint.load(path)["config"], changes)
