"""Embedding search on a 2000Q with dead qubits: one-to-one Chimera placements, clique and
biclique chains, minorminer for the rest, and graphs too large refused at once."""

import dimod
import dwave.embedding
import networkx as nx
import numpy as np
import pytest

from qaaan import ConfigError, topology
from qaaan.samplers.hardware import mock_device
from qaaan.samplers.placement import find_embedding


def _working_graph(dead_fraction: float, seed: int = 0) -> nx.Graph:
    """The working qubits and couplers of a mock 2000Q with `dead_fraction` of them dead."""
    return mock_device("2000q", dead_fraction, seed, dimod.RandomSampler()).to_networkx_graph()


def _longest_chain(embedding) -> int:
    return max(len(chain) for chain in embedding.values())


@pytest.mark.parametrize("dead_fraction", [0.0, 0.01])
def test_a_chimera_graph_is_placed_one_to_one(dead_fraction):
    embedding = find_embedding(
        topology.chimera(100), _working_graph(dead_fraction), np.random.default_rng(0)
    )
    assert len(embedding) == 100 and _longest_chain(embedding) == 1


def test_different_seeds_give_different_placements():
    graph, target = topology.chimera(32), _working_graph(0.0)
    placements = {
        tuple(find_embedding(graph, target, np.random.default_rng(seed))[0]) for seed in range(5)
    }
    assert len(placements) > 1


@pytest.mark.parametrize(
    "graph", [topology.complete(20), topology.bipartite(36), topology.chimera(100)]
)
def test_dead_qubits_and_couplers_are_avoided(graph):
    target = _working_graph(0.02, seed=1)
    assert target.number_of_nodes() < 2048  # some qubits really are dead
    embedding = find_embedding(graph, target, np.random.default_rng(1))
    assert dwave.embedding.is_valid_embedding(embedding, graph, target)


def test_complete_and_bipartite_graphs_get_clique_and_biclique_chains():
    target, rng = _working_graph(0.0), np.random.default_rng(0)
    # busclique's K36 on a perfect C16: 36 / 4 + 1 qubits a chain
    assert _longest_chain(find_embedding(topology.complete(36), target, rng)) == 10
    # 18 nodes a side: ceil(18 / 4) cells
    assert _longest_chain(find_embedding(topology.bipartite(36), target, rng)) == 5


def test_a_graph_too_large_for_the_2000q_is_refused_at_once():
    with pytest.raises(ConfigError, match="complete graph with 100 nodes does not fit"):
        find_embedding(topology.complete(100), _working_graph(0.0), np.random.default_rng(0))


def test_minorminer_fallback_places_isolated_nodes():
    graph = nx.Graph([(0, 1), (1, 2)])
    graph.add_node(3)  # no edges: minorminer alone would leave it out
    target = _working_graph(0.0)
    embedding = find_embedding(graph, target, np.random.default_rng(0))
    assert sorted(embedding) == [0, 1, 2, 3]
    assert dwave.embedding.is_valid_embedding(embedding, graph, target)
