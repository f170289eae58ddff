"""The QPU path, offline: embedding, dead qubits, scaling, chains, unembedding, credentials."""

import dimod
import dwave.embedding
import numpy as np
import pytest
import torch

from qaaan import BoltzmannMachine, ConfigError, samplers, topology
from qaaan.bm import correlation_matrix, random_machine, spin_means
from qaaan.samplers import hardware


def _record_embedded_bqms(sampler):
    """Wraps the mock QPU so the test sees every BQM it is given."""
    seen, original = [], sampler.qpu.sample

    def sample(bqm, **kwargs):
        seen.append(bqm)
        return original(bqm, **kwargs)

    sampler.qpu.sample = sample
    return seen


@pytest.mark.parametrize("dead_fraction", [0.0, 0.01])
def test_chimera_latent_space_is_placed_one_to_one(dead_fraction):
    sampler = samplers.make(
        "mock-dwave", dead_fraction=dead_fraction, seed=0, substitute_options={"sweeps": 5}
    )
    bm = BoltzmannMachine(topology.chimera(100), seed=0)
    spins = sampler.sample(bm, 50)
    assert spins.shape == (50, 100)
    assert sampler.info["max_chain_length"] == 1 and sampler.info["qubits"] == 100
    assert sampler.info["chain_break_fraction"] == 0.0


def test_complete_and_bipartite_graphs_get_chains():
    sampler = samplers.make("mock-dwave", seed=0, substitute_options={"sweeps": 5})
    sampler.sample(BoltzmannMachine(topology.complete(36)), 10)
    assert sampler.info["max_chain_length"] == 10  # busclique's K36 on a perfect C16: 36/4 + 1
    sampler.sample(BoltzmannMachine(topology.bipartite(36)), 10)
    assert sampler.info["max_chain_length"] == 5  # 18 per side: ceil(18 / 4) cells
    assert len(sampler.embeddings) == 2


def test_embeddings_are_computed_once_per_graph(monkeypatch):
    sampler = samplers.make("mock-dwave", seed=0, substitute_options={"sweeps": 2})
    calls = []
    original = hardware.find_embedding
    monkeypatch.setattr(hardware, "find_embedding", lambda *a: calls.append(1) or original(*a))
    bm = BoltzmannMachine(topology.complete(12), seed=0)
    for _ in range(3):
        sampler.sample(bm, 5)
        bm.h += 0.1  # training changes parameters, not the graph
    assert len(calls) == 1


def test_chain_couplings_are_the_strongest_ferromagnet_and_fields_fit_the_ranges():
    sampler = samplers.make("mock-dwave", seed=0, substitute_options={"sweeps": 2})
    seen = _record_embedded_bqms(sampler)
    bm = random_machine(topology.complete(8), seed=0, h_scale=1.0, J_scale=0.3)
    bm.h[0] = 5.0  # outside the 2000Q's h_range [-2, 2]: everything is divided by 2.5
    sampler.sample(bm, 5)
    assert sampler.info["scale"] == pytest.approx(2.5)
    embedded = seen[-1]
    embedding = sampler.embedding_for(bm)
    chain_edges = {
        frozenset((u, v)) for chain in embedding.values() for u in chain for v in chain if u != v
    }
    chain_couplings = [
        b for (u, v), b in embedded.quadratic.items() if frozenset((u, v)) in chain_edges
    ]
    problem_couplings = [
        b for (u, v), b in embedded.quadratic.items() if frozenset((u, v)) not in chain_edges
    ]
    assert chain_couplings and all(b == -1.0 for b in chain_couplings)
    assert max(abs(b) for b in problem_couplings) <= 0.3 / 2.5 + 1e-9
    assert max(abs(b) for b in embedded.linear.values()) <= 2.0 + 1e-9
    # h_0 = 5 in our sign is -5 in dimod's, spread over its chain, then scaled by 1 / 2.5
    assert sum(embedded.linear[q] for q in embedding[0]) == pytest.approx(-2.0)


def test_parameters_that_fit_are_not_rescaled_unless_asked():
    bqm = dimod.BinaryQuadraticModel({0: 0.5}, {(0, 1): -0.25}, 0.0, dimod.SPIN)
    ranges = {"h_range": [-2.0, 2.0], "j_range": [-1.0, 1.0]}
    assert hardware.scale_factor(bqm, ranges, auto_scale=False) == 1.0
    assert hardware.scale_factor(bqm, ranges, auto_scale=True) == pytest.approx(0.25)


def test_ties_are_broken_by_a_fair_coin():
    """200,000 tied chains of length 2: the share of +1 is 0.5 within 0.005 (4.5 sigma)."""
    tied = np.tile(np.array([[1, -1]], dtype=np.int8), (200_000, 1))
    spins, broken = hardware.unembed_majority(tied, [np.array([0, 1])], np.random.default_rng(0))
    assert abs((spins == 1).mean() - 0.5) < 0.005
    assert broken.all()
    # dwave-system's majority_vote, for comparison, always picks +1 on a tie
    ours_on_dwave, _ = dwave.embedding.majority_vote(tied[:10], [[0, 1]])
    assert (ours_on_dwave == 1).all()


def test_majority_vote_without_ties():
    qubit_spins = np.array([[1, 1, -1, -1, -1], [1, 1, 1, 1, -1]], dtype=np.int8)
    chains = [np.array([0, 1, 2]), np.array([3]), np.array([4])]
    spins, broken = hardware.unembed_majority(qubit_spins, chains, np.random.default_rng(0))
    assert spins.tolist() == [[1, -1, -1], [1, 1, -1]]
    assert broken.tolist() == [[True, False, False], [False, False, False]]


def _deviation(spins, bm, beta):
    means, correlations = samplers.exact_moments(bm, beta)
    return max(
        (spin_means(spins).double() - means).abs().max().item(),
        (correlation_matrix(spins).double() - correlations).abs().max().item(),
    )


def test_mock_dwave_is_boltzmann_on_a_weakly_coupled_chimera_model():
    """Chain length 1 and a Gibbs substitute at beta = 1: the logical samples are Boltzmann at
    beta = 1, so the only error is sampling noise: 20,000 reads give a standard deviation of at
    most 0.007 per moment, and 0.03 is over 4 sigma for every one of the 55 moments."""
    bm = random_machine(topology.chimera(10), seed=1, h_scale=0.5, J_scale=0.1)
    sampler = samplers.make(
        "mock-dwave", dead_fraction=0.01, seed=0, substitute_options={"beta": 1.0}
    )
    assert _deviation(sampler.sample(bm, 20_000), bm, beta=1.0) < 0.03


def test_mock_dwave_with_chains_is_close_on_a_weakly_coupled_complete_model():
    """K8 needs chains of 3 qubits, coupled at -1, which break at beta = 1 (about 20% of them).

    A broken chain's majority vote dilutes the logical field: for a chain of 2 the magnetisation
    shrinks by cosh(h) / (cosh(h) + exp(-2 beta J_chain)), about 10% at h = 0.5. Hence the looser
    tolerance 0.1 here (and at beta = 2, where chains rarely break, 0.06).
    """
    bm = random_machine(topology.complete(8), seed=1, h_scale=0.5, J_scale=0.1)
    for beta, tolerance in [(1.0, 0.1), (2.0, 0.06)]:
        sampler = samplers.make("mock-dwave", seed=0, substitute_options={"beta": beta})
        spins = sampler.sample(bm, 20_000)
        assert sampler.info["chain_break_fraction"] > 0
        assert _deviation(spins, bm, beta) < tolerance


def test_dwave_without_credentials_says_how_to_configure(monkeypatch, tmp_path):
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    empty_config = tmp_path / "dwave.conf"
    empty_config.write_text("")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(empty_config))
    with pytest.raises(ConfigError, match="no D-Wave credentials: set DWAVE_API_TOKEN or create"):
        samplers.make("dwave")


def test_mock_is_reproducible_with_a_seed():
    bm = random_machine(topology.complete(6), seed=0, h_scale=0.5, J_scale=0.2)
    runs = [
        samplers.make("mock-dwave", seed=3, substitute_options={"sweeps": 5}).sample(bm, 100)
        for _ in range(2)
    ]
    assert torch.equal(*runs)


def test_auto_scale_must_be_a_boolean():
    with pytest.raises(ConfigError, match="auto_scale must be true or false, got 'no'"):
        samplers.make("mock-dwave", auto_scale="no")


def test_grouped_qpu_reads_come_back_in_iid_order():
    """The mock, like a QPU, groups identical reads; expanded in place they would sit in runs."""
    bm = random_machine(topology.chimera(10), seed=0, h_scale=0.1, J_scale=0.1)
    spins = samplers.make("mock-dwave", seed=0).sample(bm, 2000)
    equal_neighbours = (spins[1:] == spins[:-1]).all(dim=1).sum().item()
    assert equal_neighbours < 50  # about 2000 * sum(p^2), a few, for this near-uniform model


def test_dwave_connection_failures_are_config_errors(monkeypatch):
    import dwave.system

    def refuse(**kwargs):
        raise OSError("connection refused\nlong traceback text")

    monkeypatch.setenv("DWAVE_API_TOKEN", "not-a-real-token")
    monkeypatch.setattr(dwave.system, "DWaveSampler", refuse)
    with pytest.raises(ConfigError, match=r"could not open D-Wave solver \(default\): connection"):
        samplers.make("dwave")
