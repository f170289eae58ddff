"""Effective inverse temperature of a set of samples (paper Eq. 8, section 6.1).

A quantum annealer's samples are modelled as Boltzmann at an unknown beta_eff (Eq. 8). Gray-box
training does not need it, but it says how hot or cold a sampler runs relative to the machine's
beta = 1. The estimate is dwave-system's maximum pseudo-likelihood
(`dwave.system.temperatures.maximum_pseudolikelihood_temperature`), with a bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from dwave.system.temperatures import maximum_pseudolikelihood_temperature

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError


@dataclass(frozen=True)
class EffectiveBeta:
    """beta_eff and its bootstrap interval (2.5% and 97.5% quantiles)."""

    beta: float
    low: float
    high: float


def effective_beta(
    bm: BoltzmannMachine, spins: torch.Tensor, num_bootstrap: int = 100, seed: int = 0
) -> EffectiveBeta:
    """Maximum pseudo-likelihood beta_eff of `spins` (num_samples, N) under `bm`'s energy."""
    if spins.ndim != 2 or spins.shape[1] != bm.num_nodes or spins.shape[0] < 2:
        raise ConfigError(
            f"spins must have shape (num_samples >= 2, {bm.num_nodes}), got {tuple(spins.shape)}"
        )
    samples = (spins.detach().cpu().numpy().astype(np.int8), list(range(bm.num_nodes)))
    temperature, bootstrap = maximum_pseudolikelihood_temperature(
        bqm=bm.to_bqm(), sampleset=samples, num_bootstrap_samples=num_bootstrap, seed=seed
    )
    betas = 1.0 / np.maximum(np.asarray(bootstrap, dtype=float), 1e-12)
    low, high = np.quantile(betas, [0.025, 0.975]) if len(betas) else (np.nan, np.nan)
    return EffectiveBeta(
        beta=float(1.0 / max(temperature, 1e-12)), low=float(low), high=float(high)
    )
