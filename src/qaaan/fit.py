"""A Boltzmann machine learning binarised MNIST alone (paper section 6.2, Figs. 4, 6 and 7).

A fully visible machine of 36 nodes learns reduced stochastically binarised MNIST: 28x28 images
averaged down to 6x6 by area, each pixel then a Bernoulli draw of its intensity, as spins
(Fig. 4). It is trained by the gray-box rule (Eq. 11-12) with model samples from one sampler and
scored after every update by the L1 metric (Eq. 13) against the exact data correlations (the
Bernoulli pixels of one image are independent, so the data's <z_i z_j> follows from the 6x6
intensities without sampling).

One such run is a run of a `qaaan sweep` spec of kind ``fit`` (`qaaan.settings.FitSettings`);
the topology experiment of Figs. 6 and 7 is the spec ``experiments/topology.toml``.
"""

from __future__ import annotations

import functools

import torch
from torch.nn import functional as F

from qaaan import data, samplers, topology
from qaaan.bm import BoltzmannMachine, correlation_matrix
from qaaan.settings import FitSettings

NODES = 36  # the 6x6 pixels


@functools.cache
def intensities_6x6(dataset: str, data_dir: str | None) -> torch.Tensor:
    """Pixel intensities in [0, 1] of every training image, averaged to 6x6: (N, 36); loaded
    once per process (a sweep's worker runs many fits)."""
    images = data.load(dataset, data_dir)
    grey = (images.batch(torch.arange(len(images))) + 1) / 2
    return F.interpolate(grey, size=(6, 6), mode="area").reshape(len(images), NODES)


def exact_data_correlations(intensities: torch.Tensor) -> torch.Tensor:
    """<z_i z_j> of the binarised data: pixels of one image are independent Bernoulli draws."""
    means = 2 * intensities.double() - 1
    correlations = means.T @ means / len(means)
    correlations.fill_diagonal_(1.0)
    return correlations


def binarised_batch(intensities: torch.Tensor, size: int, rng: torch.Generator) -> torch.Tensor:
    """`size` images drawn at random, each pixel +1 with probability its intensity, else -1."""
    pixels = intensities[torch.randint(len(intensities), (size,), generator=rng)]
    return torch.where(torch.rand(pixels.shape, generator=rng) < pixels, 1.0, -1.0)


def l1_metric(exact: torch.Tensor, model_spins: torch.Tensor) -> float:
    """Eq. 13 over all pairs i < j."""
    gap = (exact - correlation_matrix(model_spins.double())).abs()
    return gap.triu(diagonal=1).sum().item()


def fit(settings: FitSettings) -> list[float]:
    """Trains one machine as `settings` say; its L1 before each update (the curve of Figs. 6-7)
    and, last, after the final one."""
    intensities = intensities_6x6(settings.dataset, settings.data_dir)
    exact = exact_data_correlations(intensities)
    rng = torch.Generator().manual_seed(settings.seed)
    machine = BoltzmannMachine(topology.make(settings.topology, NODES), seed=settings.seed)
    sampler = samplers.make(settings.sampler, seed=settings.seed, **settings.sampler_options)
    curve = []
    for _ in range(settings.iterations):
        data_spins = binarised_batch(intensities, settings.batch_size, rng)
        model_spins = sampler.sample(machine, settings.model_samples)
        curve.append(l1_metric(exact, model_spins))
        machine.update(data_spins, model_spins, settings.lr)
    curve.append(l1_metric(exact, sampler.sample(machine, settings.model_samples)))
    return curve
