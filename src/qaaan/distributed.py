"""Data-parallel training on several processes: ``torchrun --nproc_per_node=K -m qaaan train``.

K processes (ranks), on one machine or several, each take ``batch_size`` images per iteration:
together they make the global batch of K * batch_size images that one process with that batch
would see, and (with broadcast reads) the run is that one-process run, up to the order of
floating-point sums:

- the data order, latent noise and label noise are drawn for the global batch by every rank
  alike (same seeds), and each rank keeps its share;
- the nets are wrapped in PyTorch's DistributedDataParallel (gradients averaged across ranks),
  and their batch norms compute their statistics over the global batch (torch's SyncBatchNorm
  on CUDA; on the CPU, where it does not run, `SyncedBatchNorm` below);
- the Boltzmann machine's samples are drawn once per iteration by rank 0 and broadcast (one QPU
  call per iteration, not K), or split: each rank draws its share with its own chains and the
  shares are gathered (faster for samplers that run here; the training's ``bm_reads``);
- the feature spins of all ranks are gathered, so that every rank makes the same machine update
  (Eq. 11-12) and keeps an identical machine;
- rank 0 alone writes checkpoints, logs and sample grids; resuming works as in one process.

This module is the one seam between the training loop and the processes: the loop calls
`World`'s collectives and `Reads.draw`, which are plain returns in one process, and never asks
how many processes there are. Without torchrun's environment (WORLD_SIZE unset or 1) everything
here is a no-op.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed._functional_collectives as functional_collectives
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from qaaan import samplers
from qaaan.errors import ConfigError
from qaaan.priors import BoltzmannPrior
from qaaan.settings import TrainSettings

COLLECTIVE_TIMEOUT = datetime.timedelta(hours=1)


@dataclasses.dataclass(frozen=True)
class World:
    """This process's rank among `size` processes, and the collectives the loop calls; in one
    process every collective returns its input."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, local_count: int) -> slice:
        """This rank's rows of a global batch of ``size * local_count`` rows."""
        return slice(self.rank * local_count, (self.rank + 1) * local_count)

    def broadcast(self, tensor: torch.Tensor) -> torch.Tensor:
        """Rank 0's `tensor` on every rank (in place)."""
        if self.size > 1:
            dist.broadcast(tensor, 0)
        return tensor

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """The ranks' tensors concatenated along the first axis, in rank order, on every rank."""
        if self.size == 1:
            return tensor
        parts = [torch.empty_like(tensor) for _ in range(self.size)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)

    def gather_objects(self, value: Any) -> list[Any]:
        """Every rank's `value` (picklable), in rank order, on rank 0 (an empty list elsewhere)."""
        if self.size == 1:
            return [value]
        gathered = [None] * self.size if self.is_main else None
        dist.gather_object(value, gathered, dst=0)
        return gathered or []

    def average(self, value: float) -> float:
        """The mean of a scalar over the ranks."""
        if self.size == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(total)
        return total.item() / self.size


def start(device: torch.device) -> tuple[World, torch.device]:
    """Joins torchrun's process group (gloo on CPU, nccl on CUDA): the world, this rank's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return World(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        # CPU tensors (scalars, pickled states) always go through gloo; waits are long enough
        # for rank 0 to retry a QPU while the others wait for its samples
        backend = "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    return World(dist.get_rank(), dist.get_world_size()), device


def stop(world: World) -> None:
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()


class SyncedBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the batches of all ranks, for the CPU (torch's SyncBatchNorm is GPU-only).

    The per-channel sums of x and x^2 and the count are summed across ranks by a differentiable
    all-reduce, so the gradient also flows through the other ranks' statistics.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input, got {input.dim()}D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        channels = x.shape[1]
        dims = [0, *range(2, x.dim())]
        count = x.new_tensor([x.numel() / channels])
        local = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        totals = functional_collectives.all_reduce(local, "sum", dist.group.WORLD)
        count = totals[-1]
        mean = totals[:channels] / count
        variance = (totals[channels : 2 * channels] / count - mean * mean).clamp(min=0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                # momentum None: the cumulative average, as torch's batch norm
                weight = self.momentum or 1.0 / self.num_batches_tracked.item()
                self.running_mean.lerp_(mean, weight)
                self.running_var.lerp_(variance * count / (count - 1), weight)
        shape = (1, channels) + (1,) * (x.dim() - 2)
        normalised = (x - mean.view(shape)) * torch.rsqrt(variance.view(shape) + self.eps)
        if not self.affine:
            return normalised
        return normalised * self.weight.view(shape) + self.bias.view(shape)


def _synchronise_batch_norm(module: nn.Module) -> nn.Module:
    """`module` with its batch norms replaced by `SyncedBatchNorm` (same state dict keys)."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            synced = SyncedBatchNorm(
                child.num_features, child.eps, child.momentum, child.affine,
                child.track_running_stats,
            )  # fmt: skip
            synced.load_state_dict(child.state_dict())
            setattr(module, name, synced)
        else:
            _synchronise_batch_norm(child)
    return module


def parallel(module: nn.Module, world: World, device: torch.device) -> nn.Module:
    """`module` itself in one process; else with synchronised batch norms, in DDP."""
    if world.size == 1:
        return module
    if device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    else:
        module = _synchronise_batch_norm(module)
    # batch statistics are global, so the buffers agree without syncing them at every forward
    return DistributedDataParallel(module, forward_sync_buffers=False)


def plain(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (what checkpoints hold), or the module itself."""
    return module.module if isinstance(module, DistributedDataParallel) else module


def reads_split(settings: TrainSettings, world_size: int) -> bool:
    """Whether the processes share the machine's reads (split) or rank 0 draws them all and
    broadcasts them (broadcast: the other ranks build no sampler, so a QPU is connected once).

    auto: broadcast for the QPU path (one call per iteration), split for samplers that run here.
    """
    if world_size == 1 or not settings.sampled_prior:
        return False
    mode = settings.bm_reads
    if mode == "auto":
        mode = "broadcast" if samplers.is_qpu_path(settings.sampler) else "split"
    if mode == "split" and settings.bm_samples % world_size:
        raise ConfigError(
            f"bm_reads='split' needs bm_samples ({settings.bm_samples}) divisible by the "
            f"{world_size} processes"
        )
    return mode == "split"


class Reads:
    """The machine's samples of an iteration, the same on every rank: drawn by rank 0 and
    broadcast, or a share drawn by each rank with its own chains and gathered (`reads_split`)."""

    def __init__(self, settings: TrainSettings, world: World, device: torch.device):
        self.world, self.device, self.latent = world, device, settings.latent
        self.split = reads_split(settings, world.size)
        self.draws = world.is_main or self.split  # with broadcast reads rank 0 alone draws

    def draw(self, prior: BoltzmannPrior, count: int) -> torch.Tensor:
        """`count` model samples of `prior`'s machine on every rank."""
        if self.split:
            return self.world.gather(prior.spins(count // self.world.size))
        if self.draws:
            return self.world.broadcast(prior.spins(count))
        spins = torch.empty(count, self.latent, dtype=torch.float32, device=self.device)
        return self.world.broadcast(spins)

    def rank_states(self, prior: BoltzmannPrior) -> list[dict[str, Any]]:
        """Every rank's sampler state, on rank 0, with split reads (each rank's chains differ)."""
        state = prior.sampler.state_dict() if self.split else None
        return self.world.gather_objects(state) if self.split else []

    def load_rank_states(self, prior: BoltzmannPrior, states: list[dict[str, Any]]) -> None:
        if self.split:
            prior.sampler.load_state_dict(states[self.world.rank])
