"""A Boltzmann machine learning 6x6 binarised MNIST alone (paper section 6.2)."""

import torch

from qaaan import fit
from qaaan.bm import correlation_matrix


def test_exact_data_correlations_match_sampled_binarisation():
    intensities = torch.rand(200, 36, generator=torch.Generator().manual_seed(0))
    exact = fit.exact_data_correlations(intensities)
    spins = fit.binarised_batch(intensities, 40_000, torch.Generator().manual_seed(1))
    sampled = spins.T.double() @ spins.double() / len(spins)
    assert (exact - sampled).abs().max() < 0.03  # 40,000 draws: std about 0.005


def test_the_l1_metric_sums_the_correlation_gaps_over_pairs_i_below_j():
    spins = torch.tensor([[1.0, 1.0, -1.0], [1.0, -1.0, -1.0]])
    model = correlation_matrix(spins.double())  # <z0 z1> = 0, <z0 z2> = -1, <z1 z2> = 0
    exact = model.clone()
    exact[0, 1] = exact[1, 0] = 0.5
    exact[1, 2] = exact[2, 1] = -0.25
    assert fit.l1_metric(exact, spins) == 0.75
