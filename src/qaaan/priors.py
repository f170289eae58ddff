"""The generator's latent distribution (paper Fig. 1): noise, or a Boltzmann machine and its
sampler, whose spins are reparameterised into continuous latents (Eq. 14-16).

A prior gives the generator ``count`` latent vectors; the Boltzmann prior also owns the machine
that learns the feature distribution (`qaaan.bm`) and the sampler that draws from it, built once
per run: training, sample grids, the weight average's statistics and ``qaaan sample`` all use
that sampler (previews through `Sampler.fork`, so they leave the training's chains alone).
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import torch

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine, correlation_matrix, l1_metric
from qaaan.errors import ConfigError
from qaaan.qbm import QuantumBoltzmannMachine
from qaaan.quantum import born
from qaaan.reparam import reparameterize
from qaaan.settings import TrainSettings

RANK_SEED_STRIDE = 1_000_003  # rank r's sampler seed is (seed + r * stride) mod 2**63
# what QPU samplers report, logged with the losses (totals are over the run)
SAMPLER_FIGURES = (
    "chain_break_fraction",
    "mean_chain_length",
    "max_chain_length",
    "qpu_access_seconds",
    "qpu_failures",
    "fallback_calls",
)


BM_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


class NoisePrior:
    """Uniform noise on [-1, 1] (the DCGAN baseline) or standard normal noise."""

    learns = False  # a learned prior draws model samples and learns from feature spins
    bm = sampler = optimizer = None

    def __init__(self, kind: str, size: int, device: torch.device):
        self.kind, self.size, self.device = kind, size, device

    def latent(self, spins: None, count: int, rng: torch.Generator) -> torch.Tensor:
        shape = (count, self.size)
        if self.kind == "uniform":
            return (2 * torch.rand(shape, generator=rng) - 1).to(self.device)
        return torch.randn(shape, generator=rng).to(self.device)

    def preview_latent(self, count: int, seed: int) -> torch.Tensor:
        """`count` latent vectors for grids and `qaaan sample`, the same for the same seed."""
        return self.latent(None, count, torch.Generator().manual_seed(seed))

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    load_model = load_state_dict


class SpinPrior:
    """A prior that learns the feature spins and feeds the generator reparameterised spins."""

    learns = True
    settings: TrainSettings
    device: torch.device

    def latent(self, spins: torch.Tensor, count: int, rng: torch.Generator) -> torch.Tensor:
        """`count` latent vectors from a random subset of the model samples: consecutive
        iterations then feed the generator from all the persistent chains, not the same few."""
        chosen = spins[torch.randperm(spins.shape[0], generator=rng)[:count]]
        return self._continuous(chosen, rng)

    def _continuous(self, spins: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        continuous = reparameterize(spins.cpu(), self.settings.alpha, rng)
        return continuous.to(self.device, torch.get_default_dtype())


class BoltzmannPrior(SpinPrior):
    """A Boltzmann machine on the settings' graph, sampled by the settings' sampler, trained by
    its own optimiser on the gray-box quasi-objective (Eq. 11-12)."""

    def __init__(self, settings: TrainSettings, device: torch.device, rank: int, draws: bool):
        """`rank`: under torchrun each rank's sampler gets its own seed (for split reads).
        `draws`: whether this process draws samples; if not, it builds no sampler (no QPU
        connection or embedding), only the machine."""
        graph = topology.make(settings.topology, settings.latent)
        self.bm = machine(settings, graph, device)
        self.settings, self.device = settings, device
        self.sampler = self._make_sampler(rank) if draws else None
        optimizer = BM_OPTIMIZERS[settings.bm_optimizer]
        self.optimizer = optimizer(self.bm.parameters(), lr=settings.bm_lr)

    def _make_sampler(self, rank: int) -> samplers.Sampler:
        """The settings' sampler, seeded by the run's seed unless its options name one."""
        options = dict(self.settings.sampler_options)
        if "seed" in samplers.option_names(self.settings.sampler):
            seed = options.get("seed", self.settings.seed)
            options["seed"] = rank_seed(seed, rank) if rank and seed is not None else seed
        return samplers.make(self.settings.sampler, **options)

    def spins(self, count: int) -> torch.Tensor:
        """`count` model samples of the machine (Eq. 3, 8): (count, latent) ±1 float32."""
        return self.sampler.sample(self.bm, count).to(self.device, torch.float32)

    def learn(self, feature_spins: torch.Tensor, model_spins: torch.Tensor) -> dict[str, float]:
        """One step of the machine towards the feature spins (`BoltzmannMachine.learn`); the
        fit, and what the sampler reported on its last call (QPU time, chain breaks, ...)."""
        stats = self.bm.learn(feature_spins, model_spins, self.optimizer)
        info = self.sampler.info if self.sampler is not None else {}
        return {**stats, **{key: info[key] for key in SAMPLER_FIGURES if key in info}}

    def parameters_are_finite(self) -> bool:
        return self.bm.parameters_are_finite()

    def preview_latent(self, count: int, seed: int) -> torch.Tensor:
        """`count` latent vectors for grids and `qaaan sample`: drawn from the machine as it is
        now by the run's sampler forked with `seed`, so the same seed gives the same latents and
        the training's chains and random state are left alone."""
        spins = self.sampler.fork(seed).sample(self.bm, count)
        return self._continuous(spins, torch.Generator().manual_seed(seed))

    def state_dict(self) -> dict[str, Any]:
        sampler = self.sampler.state_dict() if self.sampler is not None else {}
        return {"bm": self.bm.state_dict(), "sampler": sampler}

    def load_model(self, state: dict[str, Any]) -> None:
        """Loads the learned distribution alone (for images of a trained run)."""
        self.bm.load_state_dict(state["bm"])

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_model(state)
        if self.sampler is not None:
            self.sampler.load_state_dict(state["sampler"])


class BornPrior(SpinPrior):
    """The circuit Born machine (`qaaan.quantum.born`): its z and x readouts are the latent
    spins, and Adam on its loss (MMD or KL to the feature spins) trains its angles."""

    bm = sampler = None  # no Boltzmann machine, no sampler: the circuit is its own sampler

    def __init__(self, settings: TrainSettings, device: torch.device):
        self.settings, self.device = settings, device
        self.machine = born.BornMachine(settings.qubits, settings.qcbm_depth, seed=settings.seed)
        self.optimizer = torch.optim.Adam(self.machine.parameters(), lr=settings.qcbm_lr)
        self.generator = torch.Generator().manual_seed(settings.seed)

    def spins(self, count: int) -> torch.Tensor:
        """`count` latents (count, 2n) measured from the circuit as it is now."""
        return self.machine.sample(count, self.generator).to(self.device)

    def learn(self, feature_spins: torch.Tensor, model_spins: torch.Tensor) -> dict[str, float]:
        """One Adam step on the loss to the feature spins; the loss and the L1 metric (Eq. 13)
        between the feature spins and this iteration's model samples."""
        feature_spins = feature_spins.cpu()
        self.optimizer.zero_grad(set_to_none=True)
        if self.settings.qcbm_gradient == "parameter-shift":
            gradient = self.machine.parameter_shift_gradient(feature_spins, self.settings.qcbm_loss)
            self.machine.theta.grad = gradient
            with torch.no_grad():
                loss = self.machine.loss(feature_spins, self.settings.qcbm_loss)
        else:
            loss = self.machine.loss(feature_spins, self.settings.qcbm_loss)
            loss.backward()
        self.optimizer.step()
        gap = correlation_matrix(feature_spins) - correlation_matrix(model_spins.cpu())
        return {self.settings.qcbm_loss: loss.item(), "l1": l1_metric(gap)}

    def preview_latent(self, count: int, seed: int) -> torch.Tensor:
        """`count` latents for grids and `qaaan sample`, the same for the same seed."""
        generator = torch.Generator().manual_seed(seed)
        return self._continuous(self.machine.sample(count, generator), generator)

    def parameters_are_finite(self) -> bool:
        return bool(torch.isfinite(self.machine.theta).all())

    def state_dict(self) -> dict[str, Any]:
        return {"qcbm": self.machine.state_dict(), "generator": self.generator.get_state()}

    def load_model(self, state: dict[str, Any]) -> None:
        """Loads the circuit's angles alone (for images of a trained run)."""
        saved = state["qcbm"]["theta"]
        if saved.shape != self.machine.theta.shape:
            raise ConfigError(
                f"the saved circuit has {saved.numel()} angles, this one "
                f"{self.machine.theta.numel()}"
            )
        self.machine.load_state_dict(state["qcbm"])

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_model(state)
        self.generator.set_state(state["generator"])


def machine(settings: TrainSettings, graph: nx.Graph, device: torch.device) -> BoltzmannMachine:
    """The classical machine, or for prior qbm the quantum one (`qaaan.qbm`), whose Gamma is
    learned at the sampler's beta (1 unless its options say otherwise)."""
    if settings.prior == "bm":
        return BoltzmannMachine(graph, seed=settings.seed, device=device)
    return QuantumBoltzmannMachine(
        graph,
        gamma=settings.gamma_schedule[0] if settings.gamma_schedule else settings.gamma,
        beta=settings.sampler_options.get("beta", 1.0),
        learn_gamma=settings.learn_gamma,
        seed=settings.seed,
        device=device,
    )


def rank_seed(seed: int, rank: int) -> int:
    """Rank r's sampler seed under torchrun: its own chains, within what samplers take."""
    return (seed + rank * RANK_SEED_STRIDE) % 2**63


def make(
    settings: TrainSettings, device: torch.device, rank: int = 0, draws: bool = True
) -> NoisePrior | SpinPrior:
    """The prior the settings name (see `BoltzmannPrior` for `rank` and `draws`)."""
    if settings.sampled_prior:
        return BoltzmannPrior(settings, device, rank, draws)
    if settings.prior == "qcbm":
        return BornPrior(settings, device)
    return NoisePrior(settings.prior, settings.latent, device)
