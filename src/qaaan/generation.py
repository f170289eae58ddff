"""Images from a run: sample grids while training, ``qaaan sample`` afterwards, and the batch-norm
statistics of the generator's weight average; all drawn from the run's own prior and sampler.

Grids and generated images come from the weight average when the run keeps one (``ema``), with
its batch-norm statistics recomputed for the averaged weights ("standing statistics"): the
training generator's running statistics belong to other weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from qaaan import checkpoint, nets, priors
from qaaan.errors import ConfigError, validate
from qaaan.settings import TrainSettings, torch_device

STANDING_LATENTS = 2000  # latent vectors the batch-norm statistics are averaged over (1 s)
STANDING_CHUNK = 500
GRID = 64


def standing_statistics(generator: nn.Module, latent: torch.Tensor) -> nn.Module:
    """Sets every batch norm's running mean and variance to their average over chunks of
    `latent` passed through `generator` as it is now (torch's `update_bn`); returns it in eval
    mode."""
    update_bn(latent.split(STANDING_CHUNK), generator)
    return generator.eval()


@torch.no_grad()
def images(generator: nn.Module, latent: torch.Tensor) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] on the CPU, in eval mode, chunks of 1000."""
    was_training = generator.training
    generator.eval()
    made = torch.cat([generator(chunk).cpu() for chunk in latent.split(1000)])
    generator.train(was_training)
    return made


def save_grid(batch: torch.Tensor, path: Path) -> Path:
    """An 8-wide grid of `batch` as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torchvision.utils.save_image(batch, path, nrow=8, normalize=True, value_range=(-1, 1))
    return path


def generated_images(run: Path, count: int, seed: int, device: str = "auto") -> torch.Tensor:
    """`count` images (N, C, H, W) in [-1, 1] from the trained run in `run`, on the CPU."""
    path = Path(run) / checkpoint.CHECKPOINT
    state = checkpoint.load(path)
    with checkpoint.fits(path):
        settings = validate(TrainSettings, {**state["config"], "device": device})
    generator, _ = nets.build(settings, torch_device(device))
    prior = priors.make(settings, torch_device(device))
    with checkpoint.fits(path):
        if settings.ema:
            average = AveragedModel(generator)
            average.load_state_dict(state["generator_average"])
            generator = average
        else:
            generator.load_state_dict(state["generator"])
        prior.load_model(state["prior"])
    return images(generator, prior.preview_latent(count, seed))


def generate(run: Path, count: int, seed: int, out: Path, device: str = "auto") -> Path:
    """Writes `count` images of the run in `run`: an .npz of images (N, C, H, W) or a PNG grid."""
    if out.suffix not in (".npz", ".png"):
        raise ConfigError(f"--out must end in .npz or .png, got {str(out)!r}")
    made = generated_images(run, count, seed, device)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
        np.savez_compressed(out, images=made.numpy())
        return out
    return save_grid(made, out)
