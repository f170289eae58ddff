"""From discrete latent spins to continuous generator inputs (paper section 6.3, Eq. 14-16).

Where a spin is -1 its continuous value is -1. Where it is +1 the value is drawn from
``p(x) = alpha exp(-alpha (1 - x)) / (1 - exp(-2 alpha))`` on [-1, 1] (Eq. 14), which rises
exponentially towards +1, by inverting its CDF (Eq. 15-16):

    u = (exp(-alpha (1 - r)) - exp(-2 alpha)) / (1 - exp(-2 alpha)),  u ~ U(0, 1]
    r = 1 + ln(u (1 - exp(-2 alpha)) + exp(-2 alpha)) / alpha.

The paper uses alpha = 4.
"""

from __future__ import annotations

import math

import torch

DEFAULT_ALPHA = 4.0


def exponential_cdf(x: torch.Tensor, alpha: float = DEFAULT_ALPHA) -> torch.Tensor:
    """F(x) of Eq. 15-16: 0 below -1, 1 above 1."""
    floor = math.exp(-2 * alpha)
    inside = (torch.exp(-alpha * (1 - x)) - floor) / (1 - floor)
    return inside.clamp(0.0, 1.0)


def reparameterize(
    spins: torch.Tensor, alpha: float = DEFAULT_ALPHA, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Continuous latent values for ±1 `spins` (any shape), on the spins' device."""
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    floor = math.exp(-2 * alpha)
    uniform = 1.0 - torch.rand(spins.shape, generator=generator, device=spins.device)  # (0, 1]
    drawn = 1.0 + torch.log(uniform * (1 - floor) + floor) / alpha
    return torch.where(spins > 0, drawn, torch.full_like(drawn, -1.0))
