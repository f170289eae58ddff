"""What several test files share: tiny settings, graphs, moment checks."""

from qaaan import topology
from qaaan.bm import correlation_matrix, random_machine, spin_means
from qaaan.qbm import QuantumBoltzmannMachine
from qaaan.samplers import exact_moments
from qaaan.samplers.exact import all_states
from qaaan.settings import TrainSettings

GRAPHS = {
    "complete8": topology.complete(8),
    "bipartite8": topology.bipartite(8),
    "chimera10": topology.chimera(10),
}


def tiny(tmp_path, **changes) -> TrainSettings:
    """A run small enough for a test: 8-channel nets, 16 images a batch, 64 model samples."""
    settings = {
        "dataset": "mnist-10k", "iterations": 4, "batch_size": 16, "width": 8,
        "bm_samples": 64, "out": str(tmp_path / "run"), "checkpoint_every": 2,
        "beta_eff_every": 2, "device": "cpu",
    }  # fmt: skip
    return TrainSettings(**{**settings, **changes})


def quantum_machine(graph, gamma, seed=3, **options) -> QuantumBoltzmannMachine:
    """A quantum machine with h ~ U[-0.5, 0.5], J ~ U[-0.6, 0.6] and transverse field `gamma`."""
    couplings = random_machine(graph, seed, 0.5, 0.6)
    machine = QuantumBoltzmannMachine(graph, gamma=gamma, **options)
    return machine.set_parameters(couplings.h, couplings.J)


def max_deviation(spins, bm, beta=1.0):
    """The largest gap of <z_i> and <z_i z_j> of `spins` from their exact values (Eq. 3; for a
    quantum machine, the diagonal of its thermal state)."""
    if bm.transverse_field is None:
        means, correlations = exact_moments(bm, beta)
    else:
        states, probabilities = all_states(bm.num_nodes), bm.distribution(beta).detach()
        means, correlations = probabilities @ states, states.T @ (probabilities[:, None] * states)
    spins = spins.double()
    return max(
        (spin_means(spins) - means).abs().max().item(),
        (correlation_matrix(spins) - correlations).abs().max().item(),
    )
