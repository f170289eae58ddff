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
    bm.set_parameters([0.5, -1.0, 0.25], [1.0, -2.0, 0.5])  # edges (0,1), (0,2), (1,2)
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
    bm = BoltzmannMachine(topology.complete(3)).set_parameters(torch.zeros(3), torch.zeros(3))
    data = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, -1.0]])
    model = torch.tensor([[-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    stats = bm.update(data, model, lr=0.1)
    # data means (1, 1, 0), model means (-1, 0, 0); data <zz> (1, 0, 0), model <zz> (0, 0, -1)
    assert torch.allclose(bm.h, torch.tensor([0.2, 0.1, 0.0]))
    assert torch.allclose(bm.J, torch.tensor([0.1, 0.0, 0.1]))
    assert stats["l1"] == pytest.approx(2.0)
    assert stats["max_change"] == pytest.approx(0.2)


@pytest.mark.parametrize("graph", [topology.complete(6), topology.chimera(16)])
def test_sgd_on_the_quasi_objective_is_eq_11_12_to_the_last_bit(graph):
    """torch's SGD at the paper's learning rate on <E>_data - <E>_model moves h and J by
    exactly lr times the moment gaps of Eq. 11-12, bit for bit."""
    bm = random_machine(graph, seed=0, h_scale=0.3, J_scale=0.3)
    generator = torch.Generator().manual_seed(1)
    data = torch.where(
        torch.rand(64, graph.number_of_nodes(), generator=generator) < 0.6, 1.0, -1.0
    )
    model = torch.where(
        torch.rand(1000, graph.number_of_nodes(), generator=generator) < 0.4, 1.0, -1.0
    )
    lr = 0.0002
    h_gap = data.mean(dim=0) - model.mean(dim=0)
    gap = data.T @ data / len(data) - model.T @ model / len(model)
    J_gap = gap[bm.edges[:, 0], bm.edges[:, 1]]
    expected_h = torch.add(bm.h.detach(), h_gap, alpha=lr)  # h + lr <z>_data - lr <z>_model
    expected_J = torch.add(bm.J.detach(), J_gap, alpha=lr)
    bm.learn(data, model, torch.optim.SGD(bm.parameters(), lr=lr))
    assert torch.equal(bm.h.detach(), expected_h) and torch.equal(bm.J.detach(), expected_J)
    assert not torch.equal(expected_h, random_machine(graph, 0, 0.3, 0.3).h.detach())  # it moved


def test_the_quasi_objective_is_the_mean_energy_gap():
    bm = random_machine(topology.complete(5), seed=2, h_scale=0.5, J_scale=0.5)
    data = torch.tensor([[1.0, -1, 1, 1, -1], [1, 1, 1, -1, -1]])
    model = torch.tensor([[-1.0, -1, 1, 1, 1], [1, -1, -1, -1, 1], [1, 1, 1, 1, 1]])
    objective, _ = bm.quasi_objective(data, model)
    expected = bm.energy(data).mean() - bm.energy(model).mean()
    assert objective.item() == pytest.approx(expected.item(), abs=1e-6)


def test_adam_takes_the_same_step_direction():
    bm = BoltzmannMachine(topology.complete(3)).set_parameters(torch.zeros(3), torch.zeros(3))
    data = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, -1.0]])
    model = torch.tensor([[-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    bm.learn(data, model, torch.optim.Adam(bm.parameters(), lr=0.01))
    # the first Adam step is lr times the sign of the gradient where it is not zero
    assert torch.allclose(bm.h.detach(), torch.tensor([0.01, 0.01, 0.0]), atol=1e-6)
    assert torch.allclose(bm.J.detach(), torch.tensor([0.01, 0.0, 0.01]), atol=1e-6)


def test_the_machine_is_a_module_with_state_dict_and_device():
    bm = BoltzmannMachine(topology.chimera(8), seed=0)
    assert [name for name, _ in bm.named_parameters()] == ["h", "J"]
    assert set(bm.state_dict()) == {"h", "J", "edges"} and bm.device == torch.device("cpu")
    assert [name for name, _ in bm.named_buffers()] == ["edges"]


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
        sampleset.record.energy,
        bm.energy(torch.tensor(samples, dtype=torch.float32)).detach().numpy(),
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
