"""Where a logical graph goes on a QPU: chains of working qubits for each node (paper section 6.2).

The target graph is the device's working qubits and couplers, so dead ones are never used.

- A Chimera logical graph is placed one to one (chain length 1) by moving its unit cells on the
  device's Chimera lattice (any of the 8 symmetries of the cell grid, any shift) to a position
  where every qubit and coupler works; the seed picks one, so seeds give different placements,
  as the paper's 5 runs.
- A complete graph gets a clique embedding (minorminer.busclique), a bipartite graph a biclique
  embedding on Chimera (vertical chains for one part, horizontal for the other, as Adachi and
  Henderson 2015).
- Anything else, or when those fail (dead qubits in the way), gets minorminer's heuristic.

A graph that cannot fit is refused at once with a `ConfigError` that says how large a graph the
device holds, before minorminer spends its timeout on it.
"""

from __future__ import annotations

import dwave.embedding
import dwave.embedding.chimera
import dwave.graphs as dg
import minorminer
import minorminer.busclique
import networkx as nx
import numpy as np

from qaaan.errors import ConfigError

Embedding = dict[int, tuple[int, ...]]


def _chimera_symmetries(m: int):
    """The 8 symmetries of the C(m, m, 4) cell grid: transpose (swapping the shores) and flips."""
    for transpose in (False, True):
        for flip_rows in (False, True):
            for flip_columns in (False, True):

                def symmetry(i, j, u, k, t=transpose, fr=flip_rows, fc=flip_columns):
                    i, j, u = (j, i, 1 - u) if t else (i, j, u)
                    return (m - 1 - i if fr else i), (m - 1 - j if fc else j), u, k

                yield symmetry


def place_chimera(graph: nx.Graph, target: nx.Graph, rng: np.random.Generator) -> Embedding | None:
    """A one-to-one placement of a Chimera logical graph on a Chimera device, or None.

    The logical graph lives on C(m, m, 4) (`qaaan.topology.chimera`); every symmetry and shift of
    its cell grid on the device lattice where all its qubits and couplers work is a valid
    placement, and `rng` picks one (so seeds give different embeddings, as the paper's 5 runs).
    """
    rows, columns = target.graph["rows"], target.graph["columns"]
    tile = target.graph["tile"]
    m = graph.graph["shape"][0]
    if graph.graph["shape"][2] != tile or m > min(rows, columns):
        return None
    logical = dg.chimera_coordinates(m, m, tile)
    device = dg.chimera_coordinates(rows, columns, tile)
    cells = [logical.linear_to_chimera(q) for q in graph.graph["linear_labels"]]
    placements = []
    for symmetry in _chimera_symmetries(m):
        moved = [symmetry(*cell) for cell in cells]
        for di in range(rows - m + 1):
            for dj in range(columns - m + 1):
                qubits = [device.chimera_to_linear((i + di, j + dj, u, k)) for i, j, u, k in moved]
                working = all(q in target for q in qubits) and all(
                    target.has_edge(qubits[a], qubits[b]) for a, b in graph.edges
                )
                if working:
                    placements.append(qubits)
    if not placements:
        return None
    qubits = placements[rng.integers(len(placements))]
    return {node: (qubit,) for node, qubit in enumerate(qubits)}


def _biclique_on_chimera(graph: nx.Graph, target: nx.Graph) -> Embedding | None:
    left, right = graph.graph["parts"]
    shape = (target.graph["rows"], target.graph["columns"], target.graph["tile"])
    try:
        left_chains, right_chains = dwave.embedding.chimera.find_biclique_embedding(
            left, right, *shape, target_edges=list(target.edges)
        )
    except ValueError:
        return None
    return {**left_chains, **right_chains}


MINORMINER_TIMEOUT = 30.0


def _too_large(graph: nx.Graph, target: nx.Graph) -> bool:
    """A quick necessary condition for an embedding to exist.

    A chain of L qubits of degree at most d has at most (d - 2) L + 2 couplers leaving it, so a
    node of logical degree k needs L >= (k - 2) / (d - 2); the chains must fit the working qubits.
    """
    device_degree = max((d for _, d in target.degree), default=0)
    if device_degree <= 2:
        return graph.number_of_nodes() > target.number_of_nodes()
    needed = sum(max(1, -(-(k - 2) // (device_degree - 2))) for _, k in graph.degree)
    return needed > target.number_of_nodes()


def _place_isolated_nodes(graph: nx.Graph, target: nx.Graph, embedding: dict) -> None:
    """minorminer embeds edges only: give each node without edges a free working qubit."""
    used = {q for chain in embedding.values() for q in chain}
    free = (q for q in sorted(target.nodes) if q not in used)
    for node in sorted(graph.nodes):
        if node not in embedding:
            qubit = next(free, None)
            if qubit is not None:
                embedding[node] = (qubit,)


def find_embedding(graph: nx.Graph, target: nx.Graph, rng: np.random.Generator) -> Embedding:
    """Chains of working qubits for each logical node (see the module docstring)."""
    family = graph.graph.get("family")
    does_not_fit = ConfigError(
        f"the {family or 'given'} graph with {graph.number_of_nodes()} nodes does not fit "
        f"the device's {target.number_of_nodes()} working qubits; use a smaller or sparser "
        "latent graph (a 2000Q holds complete graphs up to 64 nodes)"
    )
    if _too_large(graph, target):
        raise does_not_fit
    on_chimera = target.graph.get("family") == "chimera"
    embedding = None
    if family == "chimera" and on_chimera:
        embedding = place_chimera(graph, target, rng)
    elif family == "complete":
        seed = int(rng.integers(2**31))
        embedding = minorminer.busclique.find_clique_embedding(
            graph.number_of_nodes(), target, seed=seed, use_cache=False
        )
    elif family == "bipartite" and on_chimera:
        embedding = _biclique_on_chimera(graph, target)
    if not embedding or not dwave.embedding.is_valid_embedding(embedding, graph, target):
        embedding = minorminer.find_embedding(
            list(graph.edges),
            list(target.edges),
            random_seed=int(rng.integers(2**31)),
            timeout=MINORMINER_TIMEOUT,
        )
        embedding = {node: embedding[node] for node in graph.nodes if node in embedding}
        _place_isolated_nodes(graph, target, embedding)
    if len(embedding) != graph.number_of_nodes() or not dwave.embedding.is_valid_embedding(
        embedding, graph, target
    ):
        raise does_not_fit
    return {node: tuple(chain) for node, chain in embedding.items()}
