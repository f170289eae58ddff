"""Logical graphs of the latent Boltzmann machine (paper section 6.2, Fig. 2).

Every graph has the nodes ``0..N-1`` and carries in ``graph.graph``:

- ``family``: ``complete``, ``bipartite``, ``chimera``, ``pegasus`` or ``zephyr``;
- for the hardware families, ``shape`` (the dwave.graphs shape of the smallest lattice that holds
  N nodes) and ``linear_labels`` (node i is qubit ``linear_labels[i]`` of that lattice), which is
  what the hardware path needs to place the graph one to one on a QPU;
- for ``bipartite``, ``parts``: the two node sets.

`colour_classes` gives a proper colouring for block Gibbs updates.
"""

from __future__ import annotations

import math

import dwave.graphs as dg
import networkx as nx

from qaaan.errors import ConfigError


def _check_size(num_nodes: int) -> None:
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ConfigError(f"number of nodes must be a positive integer, got {num_nodes!r}")


def complete(num_nodes: int) -> nx.Graph:
    """All pairs connected (paper Fig. 2a)."""
    _check_size(num_nodes)
    graph = nx.complete_graph(num_nodes)
    graph.graph["family"] = "complete"
    return graph


def bipartite(num_nodes: int) -> nx.Graph:
    """Symmetric bipartite graph, fully visible (paper Fig. 2c).

    Nodes ``0..ceil(N/2)-1`` form one part, the rest the other; every cross pair is an edge.
    """
    _check_size(num_nodes)
    split = math.ceil(num_nodes / 2)
    left, right = list(range(split)), list(range(split, num_nodes))
    graph = nx.complete_bipartite_graph(left, right)
    graph.graph.update(family="bipartite", parts=(left, right))
    return graph


def _first_nodes_of(lattice: nx.Graph, family: str, shape: tuple, num_nodes: int) -> nx.Graph:
    """The subgraph induced on the first N nodes of a lattice, relabelled 0..N-1."""
    linear_labels = sorted(lattice.nodes)[:num_nodes]
    graph = nx.convert_node_labels_to_integers(lattice.subgraph(linear_labels), ordering="sorted")
    graph.graph = {"family": family, "shape": shape, "linear_labels": linear_labels}
    return graph


def chimera(num_nodes: int) -> nx.Graph:
    """The first N nodes (linear order) of the smallest square Chimera C(m, m, 4) holding N.

    This is the D-Wave 2000Q's native graph (paper Fig. 2b); chimera(100) uses C(4, 4, 4).
    """
    _check_size(num_nodes)
    m = math.ceil(math.sqrt(num_nodes / 8))
    return _first_nodes_of(dg.chimera_graph(m), "chimera", (m, m, 4), num_nodes)


def pegasus(num_nodes: int) -> nx.Graph:
    """The first N nodes (linear order) of the smallest Pegasus P(m) holding N (Advantage)."""
    _check_size(num_nodes)
    m = 2
    while len(lattice := dg.pegasus_graph(m)) < num_nodes:
        m += 1
    return _first_nodes_of(lattice, "pegasus", (m,), num_nodes)


def zephyr(num_nodes: int) -> nx.Graph:
    """The first N nodes (linear order) of the smallest Zephyr Z(m, 4) holding N (Advantage2)."""
    _check_size(num_nodes)
    m = 1
    while len(lattice := dg.zephyr_graph(m)) < num_nodes:
        m += 1
    return _first_nodes_of(lattice, "zephyr", (m, 4), num_nodes)


BUILDERS = {
    "complete": complete,
    "bipartite": bipartite,
    "chimera": chimera,
    "pegasus": pegasus,
    "zephyr": zephyr,
}
TOPOLOGIES = tuple(BUILDERS)


def make(name: str, num_nodes: int) -> nx.Graph:
    """The topology called `name` (one of `TOPOLOGIES`) with `num_nodes` nodes."""
    if name not in BUILDERS:
        raise ConfigError(f"unknown topology {name!r}; allowed: {', '.join(TOPOLOGIES)}")
    return BUILDERS[name](num_nodes)


def colour_classes(graph: nx.Graph) -> list[list[int]]:
    """A proper colouring as a list of node lists: no edge joins two nodes of one class.

    Bipartite graphs (the bipartite and Chimera topologies) get two classes, so block Gibbs
    updates half the spins at once; a complete graph gets one class per node (site by site).
    """
    if graph.number_of_nodes() == 0:
        return []
    if nx.is_bipartite(graph):
        colour = nx.bipartite.color(graph)
    else:
        colour = nx.greedy_color(graph, strategy="largest_first")
    classes: dict[int, list[int]] = {}
    for node in sorted(graph.nodes):
        classes.setdefault(colour[node], []).append(node)
    return [classes[c] for c in sorted(classes)]
