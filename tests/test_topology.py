import networkx as nx
import pytest

from qaaan import ConfigError, topology


def _is_proper(graph, classes):
    colour = {node: c for c, nodes in enumerate(classes) for node in nodes}
    return sorted(colour) == sorted(graph.nodes) and all(
        colour[u] != colour[v] for u, v in graph.edges
    )


def test_complete_and_bipartite_shapes():
    assert topology.complete(8).number_of_edges() == 28
    graph = topology.bipartite(7)
    left, right = graph.graph["parts"]
    assert left == [0, 1, 2, 3] and right == [4, 5, 6]
    assert graph.number_of_edges() == 12
    assert all((u in left) != (v in left) for u, v in graph.edges)


def test_chimera_is_first_nodes_of_smallest_square_lattice():
    graph = topology.chimera(100)
    assert graph.graph["shape"] == (4, 4, 4)  # 8 * 4^2 = 128 >= 100 > 8 * 3^2
    assert sorted(graph.nodes) == list(range(100)) and graph.graph["linear_labels"] == list(
        range(100)
    )
    assert graph.number_of_edges() == 264
    assert max(d for _, d in graph.degree) <= 6
    assert topology.chimera(8).graph["shape"] == (1, 1, 4)
    assert topology.chimera(8).number_of_edges() == 16  # one unit cell: K(4, 4)


@pytest.mark.parametrize("name", ["pegasus", "zephyr"])
def test_advantage_families_are_induced_subgraphs(name):
    graph = topology.make(name, 100)
    assert sorted(graph.nodes) == list(range(100))
    assert graph.graph["family"] == name and len(graph.graph["linear_labels"]) == 100


@pytest.mark.parametrize("name", topology.TOPOLOGIES)
def test_colouring_is_proper(name):
    graph = topology.make(name, 36)
    classes = topology.colour_classes(graph)
    assert _is_proper(graph, classes)
    if name in ("bipartite", "chimera"):
        assert len(classes) == 2
    if name == "complete":
        assert len(classes) == 36


def test_colouring_of_an_arbitrary_graph():
    graph = nx.petersen_graph()
    assert _is_proper(graph, topology.colour_classes(graph))


@pytest.mark.parametrize("size", [0, -3, 2.5, "8", True])
def test_bad_size_is_refused(size):
    with pytest.raises(ConfigError, match="positive integer"):
        topology.complete(size)


def test_unknown_topology_lists_the_allowed():
    with pytest.raises(ConfigError, match="unknown topology 'ring'; allowed: complete, bipartite"):
        topology.make("ring", 8)
