"""The reparameterisation of Eq. 14-16."""

import numpy as np
import pytest
import scipy.stats
import torch
from typer.testing import CliRunner

from qaaan.reparam import exponential_cdf, reparameterize

runner = CliRunner()


def test_reparameterisation_follows_eq_14_to_16():
    generator = torch.Generator().manual_seed(0)
    up = reparameterize(torch.ones(20_000), alpha=4.0, generator=generator)
    statistic, p_value = scipy.stats.kstest(
        up.numpy(), lambda x: exponential_cdf(torch.as_tensor(x)).numpy()
    )
    assert p_value > 0.01, statistic
    assert up.min() > -1 and up.max() <= 1
    assert up.mean().item() == pytest.approx(
        1 - 1 / 4 + 2 * np.exp(-8) / (1 - np.exp(-8)), abs=0.01
    )
    down = reparameterize(-torch.ones(100), generator=generator)
    assert (down == -1).all()
    assert reparameterize(torch.ones(1000), alpha=50.0, generator=generator).min() > 0.8
    assert exponential_cdf(torch.tensor([-2.0, -1.0, 1.0, 3.0])).tolist() == [0.0, 0.0, 1.0, 1.0]
