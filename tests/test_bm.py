import dimod
import networkx as nx
import numpy as np
import pytest
import torch

from qaaan import BoltzmannMachine, ConfigError, topology
from qaaan.bm import INIT_STD, random_machine
from qaaan.samplers import boltzmann_distribution, exact_moments


def test_energy_matches_eq_2_by_hand():
    bm = BoltzmannMachine(topology.complete(3))
    bm.h = torch.tensor([0.5, -1.0, 0.25])
    bm.J = torch.tensor([1.0, -2.0, 0.5])  # edges (0,1), (0,2), (1,2)
    z = torch.tensor([[1.0, -1.0, 1.0], [1.0, 1.0, 1.0]])
    # E = -(0.5 + 1 + 0.25) - (1*(-1) + (-2)*1 + 0.5*(-1)) = -1.75 + 3.5
    expected = torch.tensor([1.75, -(0.5 - 1 + 0.25) - (1 - 2 + 0.5)])
    assert torch.allclose(bm.energy(z), expected)


def test_initial_parameters_are_small_and_seeded():
    first = BoltzmannMachine(topology.chimera(100), seed=3)
    again = BoltzmannMachine(topology.chimera(100), seed=3)
    other = BoltzmannMachine(topology.chimera(100), seed=4)
    assert torch.equal(first.h, again.h) and torch.equal(first.J, again.J)
    assert not torch.equal(first.J, other.J)
    assert first.J.abs().max() < 6 * INIT_STD and abs(first.J.std() - INIT_STD) < 0.003


def test_update_is_the_gray_box_rule_and_reports_l1():
    bm = BoltzmannMachine(topology.complete(3))
    bm.h.zero_()
    bm.J.zero_()
    data = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, -1.0]])
    model = torch.tensor([[-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    stats = bm.update(data, model, lr=0.1)
    # data means (1, 1, 0), model means (-1, 0, 0); data <zz> (1, 0, 0), model <zz> (0, 0, -1)
    assert torch.allclose(bm.h, torch.tensor([0.2, 0.1, 0.0]))
    assert torch.allclose(bm.J, torch.tensor([0.1, 0.0, 0.1]))
    assert stats["l1"] == pytest.approx(2.0)
    assert stats["max_change"] == pytest.approx(0.2)


def test_l1_counts_all_pairs_not_only_edges():
    bm = BoltzmannMachine(topology.bipartite(4))  # edges 0-2, 0-3, 1-2, 1-3; no 0-1, 2-3
    data = torch.ones(4, 4)
    model = torch.tensor([[1.0, -1.0, 1.0, -1.0]] * 4)
    stats = bm.update(data, model, lr=0.0)
    assert stats["l1"] == pytest.approx(8.0)  # pairs 0-1, 0-3, 1-2, 2-3 each differ by 2
    assert stats["l1_edges"] == pytest.approx(4.0)


def test_moments_helpers():
    bm = BoltzmannMachine(topology.complete(3))
    z = torch.tensor([[1.0, -1.0, 1.0], [1.0, 1.0, 1.0]])
    assert torch.allclose(bm.edge_correlations(z), torch.tensor([0.0, 1.0, 0.0]))


def test_to_bqm_sign_convention_pinned_by_enumeration():
    """dimod's ExactSolver energies, through to_bqm(), give our Eq. 3 distribution exactly."""
    bm = random_machine(topology.complete(5), seed=7, h_scale=1.0, J_scale=1.0)
    states, ours = boltzmann_distribution(bm, beta=1.0)
    sampleset = dimod.ExactSolver().sample(bm.to_bqm())
    samples = dimod.as_samples((sampleset.record.sample, sampleset.variables))[0]
    weights = np.exp(-(sampleset.record.energy - sampleset.record.energy.min()))
    theirs = dict(zip(map(tuple, samples.astype(int)), weights / weights.sum(), strict=True))
    for state, probability in zip(states.int().tolist(), ours.tolist(), strict=True):
        assert theirs[tuple(state)] == pytest.approx(probability, rel=1e-9)
    # and the energies agree state by state
    assert np.allclose(
        sampleset.record.energy, bm.energy(torch.tensor(samples, dtype=torch.float32))
    )


def test_from_bqm_round_trip_and_binary_models():
    bm = random_machine(topology.chimera(12), seed=1, h_scale=1.0, J_scale=1.0)
    back = BoltzmannMachine.from_bqm(bm.to_bqm())
    assert torch.allclose(back.h, bm.h) and torch.equal(back.edges, bm.edges)
    assert torch.allclose(back.J, bm.J)
    binary = bm.to_bqm().change_vartype(dimod.BINARY, inplace=False)
    from_binary = BoltzmannMachine.from_bqm(binary)
    assert torch.allclose(exact_moments(from_binary)[0], exact_moments(bm)[0], atol=1e-6)


def test_state_dict_round_trip_and_graph_mismatch():
    bm = BoltzmannMachine(topology.chimera(16), seed=1)
    other = BoltzmannMachine(topology.chimera(16), seed=2)
    other.load_state_dict(bm.state_dict())
    assert torch.equal(other.h, bm.h) and torch.equal(other.J, bm.J)
    with pytest.raises(ConfigError, match="another graph"):
        BoltzmannMachine(topology.complete(16)).load_state_dict(bm.state_dict())


def test_nodes_must_be_0_to_n_minus_1():
    with pytest.raises(ConfigError, match=r"0\.\.N-1"):
        BoltzmannMachine(nx.path_graph(["a", "b"]))
