"""The registry: samplers by name, their options checked in one line."""

import pytest

from qaaan import BoltzmannMachine, ConfigError, samplers, topology

GRAPHS = {
    "complete8": topology.complete(8),
    "bipartite8": topology.bipartite(8),
    "chimera10": topology.chimera(10),
}


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            "gibs",
            {},
            "unknown sampler 'gibs'; available: dimod, dwave, exact, exact-quantum, gibbs",
        ),
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
