"""The fixed embedding: chains at the strongest ferromagnet, a fair-coin majority vote, and
the chains' figures."""

import dimod
import dimod.testing
import dwave.embedding
import numpy as np
import pytest
from dwave.system.testing import MockDWaveSampler

from qaaan import samplers
from qaaan.errors import ConfigError
from qaaan.samplers.composites.embedding import FairCoinEmbeddingComposite, fair_majority_vote
from qaaan.samplers.composites.reads import ShuffledReadsComposite

# a triangle on one Chimera cell: node 0 is the chain 0-4, which couples to both other nodes
TRIANGLE = dimod.BinaryQuadraticModel(
    {0: 0.6, 1: 0.0, 2: 0.0}, {(0, 1): 0.0, (0, 2): 0.0, (1, 2): 0.0}, 0.0, dimod.SPIN
)
EMBEDDING = {0: (0, 4), 1: (1,), 2: (5,)}


def _composite(child, seed=0):
    return FairCoinEmbeddingComposite(child, EMBEDDING, np.random.default_rng(seed))


def test_api(device):
    sampler = _composite(device)
    dimod.testing.assert_composite_api(sampler)
    dimod.testing.assert_sampler_api(sampler)


def test_chains_are_coupled_at_the_strongest_ferromagnet_and_fields_spread_over_them(device):
    tracked = dimod.TrackingComposite(device)
    _composite(tracked).sample(TRIANGLE, num_reads=5)
    embedded = tracked.input["bqm"]
    assert embedded.quadratic[0, 4] == -1.0  # -max |J| of the mock's j_range [-1, 1]
    assert embedded.linear[0] + embedded.linear[4] == pytest.approx(0.6)


def test_weaker_chains_break_more_and_a_chain_the_device_cannot_hold_is_refused(device):
    """Node 0's chain read from a device that samples exactly at beta 1 breaks with the
    Boltzmann probability of its two disagreeing states, which grows as the coupling weakens:
    1 / (1 + e^(2s) cosh(0.6) / cosh(0)) with fields 0.3 + 0.3 (2000 reads, within 0.03)."""
    boltzmann = MockDWaveSampler(
        topology_type="chimera",
        topology_shape=[2, 2, 4],
        substitute_sampler=samplers.make("exact", seed=0),
        exact_solver_cutoff=0,
    )
    for strength in (1.0, 0.5, 0.1):
        sampler = FairCoinEmbeddingComposite(
            boltzmann, EMBEDDING, np.random.default_rng(0), strength
        )
        broken = sampler.sample(TRIANGLE, num_reads=2000).info["chain_break_fraction"]
        chain = 1 / (1 + np.exp(2 * strength) * np.cosh(0.6))
        assert broken == pytest.approx(chain / 3, abs=0.03 / 3)  # one chain of three nodes
    tracked = dimod.TrackingComposite(device)
    FairCoinEmbeddingComposite(tracked, EMBEDDING, np.random.default_rng(0), 0.5).sample(
        TRIANGLE, num_reads=5
    )
    assert tracked.input["bqm"].quadratic[0, 4] == -0.5
    too_strong = FairCoinEmbeddingComposite(device, EMBEDDING, np.random.default_rng(0), 1.5)
    with pytest.raises(ConfigError, match=r"chain_strength = 1.5: .* <= 1 \(its strongest"):
        too_strong.sample(TRIANGLE, num_reads=5)


def test_tied_chains_are_set_by_a_fair_coin_read_by_read(device):
    """Uniformly random reads break the chain 0-4 in half of them, so 1 / 6 of the chains are
    broken. Were ties set to +1, node 0 would be +1 in 3 / 4 of 4000 reads; with a fair coin it
    is +1 in half of them (one standard deviation 0.008)."""
    sampler = _composite(ShuffledReadsComposite(device, np.random.default_rng(1)))
    sampleset = sampler.sample(TRIANGLE, num_reads=4000)
    spins = sampleset.record.sample[:, list(sampleset.variables).index(0)]
    assert abs((spins == 1).mean() - 0.5) < 0.05
    assert sampleset.info["chain_break_fraction"] == pytest.approx(1 / 6, abs=0.02)
    figures = {key: sampleset.info[key] for key in ("max_chain_length", "qubits")}
    assert figures == {"max_chain_length": 2, "qubits": 4}
    assert sampleset.info["mean_chain_length"] == pytest.approx(4 / 3)


def test_a_one_to_one_embedding_has_no_broken_chains(device):
    sampler = FairCoinEmbeddingComposite(device, {0: (0,), 1: (4,)}, np.random.default_rng(0))
    bqm = dimod.BinaryQuadraticModel({0: 0.1}, {(0, 1): 0.2}, 0.0, dimod.SPIN)
    sampleset = sampler.sample(bqm, num_reads=10)
    assert sampleset.info["chain_break_fraction"] == 0.0
    assert sampleset.info["max_chain_length"] == 1


def test_ties_are_broken_by_a_fair_coin():
    """200,000 tied chains of length 2: the share of +1 is 0.5 within 0.005 (4.5 sigma)."""
    tied = np.tile(np.array([[1, -1]], dtype=np.int8), (200_000, 1))
    spins, kept = fair_majority_vote(tied, [[0, 1]], np.random.default_rng(0))
    assert abs((spins == 1).mean() - 0.5) < 0.005
    assert (kept == np.arange(200_000)).all()
    # dwave-system's majority_vote, for comparison, always picks +1 on a tie
    theirs, _ = dwave.embedding.majority_vote(tied[:10], [[0, 1]])
    assert (theirs == 1).all()


def test_majority_vote_without_ties_by_label():
    samples = (np.array([[1, 1, -1, -1, -1], [1, 1, 1, 1, -1]], dtype=np.int8), list("abcde"))
    chains = [("a", "b", "c"), ("d",), ("e",)]
    spins, _ = fair_majority_vote(samples, chains, np.random.default_rng(0))
    assert spins.tolist() == [[1, -1, -1], [1, 1, -1]]


def test_binary_samples_give_bits():
    samples = np.array([[1, 1, 0, 0], [0, 0, 1, 0]], dtype=np.int8)
    bits, _ = fair_majority_vote(samples, [[0, 1, 2], [3]], np.random.default_rng(0))
    assert bits.tolist() == [[1, 0], [0, 0]]
