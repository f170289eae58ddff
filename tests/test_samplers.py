"""Exact-distribution checks of the samplers, learning, and the registry's errors."""

import pytest
import torch

from qaaan import BoltzmannMachine, ConfigError, samplers, topology
from qaaan.bm import correlation_matrix, random_machine, spin_means
from qaaan.samplers import exact_moments

GRAPHS = {
    "complete8": topology.complete(8),
    "bipartite8": topology.bipartite(8),
    "chimera10": topology.chimera(10),
}


def _max_deviation(spins, bm, beta=1.0):
    means, correlations = exact_moments(bm, beta)
    spins = spins.double()
    return max(
        (spin_means(spins) - means).abs().max().item(),
        (correlation_matrix(spins) - correlations).abs().max().item(),
    )


def test_exact_sampler_matches_enumeration():
    bm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.5, J_scale=0.5)
    spins = samplers.make("exact", seed=0).sample(bm, 100_000)  # std of a moment <= 0.0032
    assert _max_deviation(spins, bm) < 0.015


def test_exact_refuses_large_machines():
    bm = BoltzmannMachine(topology.complete(21))
    with pytest.raises(ConfigError, match="N <= 20, got N = 21"):
        samplers.make("exact").sample(bm, 1)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("graph", GRAPHS)
def test_gibbs_matches_enumeration(graph, backend):
    """All means and pair correlations within 0.02 of the exact ones (10 x 8000 draws)."""
    bm = random_machine(GRAPHS[graph], seed=1, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("gibbs", sweeps=5, burn_in=50, seed=2, backend=backend)
    spins = torch.cat([sampler.sample(bm, 8000) for _ in range(10)])
    assert _max_deviation(spins, bm) < 0.02


def test_gibbs_beta_is_the_inverse_temperature():
    bm = random_machine(GRAPHS["chimera10"], seed=3, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("gibbs", sweeps=5, beta=2.0, seed=0)
    spins = torch.cat([sampler.sample(bm, 8000) for _ in range(10)])
    assert _max_deviation(spins, bm, beta=2.0) < 0.02
    assert _max_deviation(spins, bm, beta=1.0) > 0.05


def test_gibbs_chains_persist_and_follow_the_machine():
    bm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("gibbs", sweeps=1, burn_in=0, seed=0)
    first = sampler.sample(bm, 5000)
    second = sampler.sample(bm, 5000)
    # one sweep from the previous state: the chains continue, so most spins are kept
    assert (first == second).float().mean() > 0.6
    bm.set_parameters(
        torch.full((8,), 3.0), bm.J.detach()
    )  # the machine moves: the persistent chains follow it within a few sweeps
    for _ in range(3):
        moved = sampler.sample(bm, 5000)
    assert spin_means(moved).min() > 0.9


def test_gibbs_is_reproducible_with_a_seed():
    bm = random_machine(GRAPHS["bipartite8"], seed=0, h_scale=0.5, J_scale=0.5)
    runs = [samplers.make("gibbs", seed=7).sample(bm, 64) for _ in range(2)]
    assert torch.equal(*runs)
    assert not torch.equal(runs[0], samplers.make("gibbs", seed=8).sample(bm, 64))


def test_sa_options_pass_through():
    bm = random_machine(GRAPHS["chimera10"], seed=0, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("sa", beta_range=[1.0, 1.0], num_sweeps=200, seed=0)
    spins = sampler.sample(bm, 20_000)
    assert spins.shape == (20_000, 10) and set(spins.unique().tolist()) == {-1.0, 1.0}
    # constant beta = 1 Metropolis: Boltzmann at beta = 1 (std of a moment <= 0.007)
    assert _max_deviation(spins, bm) < 0.03
    # successive calls of a seeded sampler differ (a new seed per call)
    assert not torch.equal(sampler.sample(bm, 50), sampler.sample(bm, 50))


@pytest.mark.parametrize("model_sampler", ["exact", "gibbs"])
def test_learning_a_known_machine(model_sampler):
    """Gray-box training (complete 8) on samples of a known machine brings L1 from ~5 below 0.6.

    L1 sums 28 pair gaps; with 2000 model samples per step each gap has a noise floor near
    0.02, i.e. about 0.5 in total, so 0.6 means the correlations were learned to the noise.
    """
    graph = topology.complete(8)
    target = random_machine(graph, seed=11, h_scale=0.5, J_scale=0.4)
    data = samplers.make("exact", seed=1).sample(target, 20_000)
    student = BoltzmannMachine(graph, seed=0)
    model = samplers.make(
        model_sampler, seed=2, **({"sweeps": 2} if model_sampler == "gibbs" else {})
    )
    history = [student.update(data, model.sample(student, 2000), lr=0.05)["l1"] for _ in range(300)]
    assert history[0] > 3.0
    assert sum(history[-20:]) / 20 < 0.6


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("gibs", {}, "unknown sampler 'gibs'; available: dimod, dwave, exact, gibbs, mock-dwave"),
        ("gibbs", {"sweep": 3}, "unknown key(s) of sampler_options sweep; allowed: sweeps"),
        ("gibbs", {"sweeps": 0}, "sampler_options.sweeps = 0: input should be greater than or"),
        ("gibbs", {"burn_in": -1}, "burn_in = -1: input should be greater than or equal to 0"),
        ("gibbs", {"beta": -1.0}, "sampler_options.beta = -1.0: input should be greater than 0"),
        ("gibbs", {"beta": float("inf")}, "beta = inf: input should be a finite number"),
        ("gibbs", {"sweeps": 2.5}, "sweeps = 2.5: input should be a valid integer"),
        ("gibbs", {"sweeps": True}, "sweeps = True: input should be a valid integer"),
        ("gibbs", {"backend": "cuda"}, "backend = 'cuda': input should be 'auto', 'numba' or"),
        ("gibbs", {"seed": -5}, "seed = -5: input should be greater than or equal to 0"),
        ("exact", {"beta": "hot"}, "sampler_options.beta = 'hot': input should be a valid number"),
        (
            "sa",
            {"num_sweep": 3},
            "unknown key(s) of sampler_options num_sweep; allowed: beta_range",
        ),
        (
            "mock-dwave",
            {"dead_fraction": 0.7},
            "sampler_options.dead_fraction = 0.7: input should be less than 0.5",
        ),
        (
            "mock-dwave",
            {"substitute": "steepest"},
            "sampler_options.substitute = 'steepest': input should be 'gibbs' or 'sqa'",
        ),
    ],
)
def test_bad_names_and_options_are_refused_clearly(name, options, message):
    with pytest.raises(ConfigError) as error:
        samplers.make(name, **options)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_num_reads_is_refused():
    bm = BoltzmannMachine(topology.complete(4))
    with pytest.raises(ConfigError, match="num_reads must be a positive integer, got 0"):
        samplers.make("gibbs").sample(bm, 0)


def test_sa_refusals_are_config_errors():
    bm = random_machine(GRAPHS["chimera10"], seed=0, h_scale=0.5, J_scale=0.5)
    with pytest.raises(ConfigError, match="beta_schedule_type = 'foo': input should be 'linear'"):
        samplers.make("sa", beta_schedule_type="foo")
    with pytest.raises(ConfigError, match="SimulatedAnnealingSampler refused its options"):
        samplers.make("sa", beta_schedule_type="custom").sample(bm, 10)  # and no beta_schedule
    with pytest.raises(ConfigError, match="num_reads must be a positive integer, got 0"):
        samplers.make("sa").sample(bm, 0)


def test_unseeded_samplers_are_random_and_seeds_are_bounded():
    bm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.1, J_scale=0.1)
    assert not torch.equal(
        samplers.make("exact").sample(bm, 64), samplers.make("exact").sample(bm, 64)
    )
    with pytest.raises(ConfigError, match="seed = 1180591620717411303424: input should be less"):
        samplers.make("exact", seed=2**70)


def test_building_machines_from_parameters_leaves_torch_global_rng_alone():
    bqm = random_machine(GRAPHS["complete8"], seed=0, h_scale=0.1, J_scale=0.1).to_bqm()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    BoltzmannMachine.from_bqm(bqm)
    assert torch.equal(torch.rand(3), expected)
