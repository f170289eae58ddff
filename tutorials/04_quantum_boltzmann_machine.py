# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A quantum latent: the quantum Boltzmann machine
#
# The quantum Boltzmann machine (Amin et al. 2018) adds a transverse field to the machine's
# energy, `H = E(sigma^z) - Gamma Σ_i sigma^x_i`, and its latent spins are a measurement of the
# thermal state `exp(-beta H) / Z` in the z basis. At Gamma = 0 it is the classical machine of
# Eq. 2-3; as Gamma grows, quantum fluctuations loosen the spins' correlations. Here, on 8
# nodes, we compute its distribution exactly (by diagonalisation) and check that simulated
# quantum annealing held at the machine's Gamma draws from it. `--prior qbm --gamma 0.5` trains
# such a latent inside the GAN.

# %%
from itertools import pairwise

import matplotlib.pyplot as plt
import torch

from qaaan import samplers, topology
from qaaan.bm import correlation_matrix, random_machine
from qaaan.qbm import QuantumBoltzmannMachine
from qaaan.samplers.exact import all_states

graph = topology.complete(8)
classical = random_machine(graph, seed=1, h_scale=0.2, J_scale=0.6)
states = all_states(classical.num_nodes).double()


def quantum_machine(gamma: float) -> QuantumBoltzmannMachine:
    machine = QuantumBoltzmannMachine(graph, gamma=gamma, seed=0)
    return machine.set_parameters(classical.h.detach(), classical.J.detach())


def exact_correlations(machine: QuantumBoltzmannMachine) -> torch.Tensor:
    probabilities = machine.distribution(beta=1.0).detach()
    return states.T @ (probabilities[:, None] * states)


# %% [markdown]
# ## Correlations against Gamma
#
# The mean absolute correlation `|<z_i z_j>|` over all pairs, exact, as the transverse field
# grows; beside it, `sqa` with 16 Trotter slices held at each Gamma (for a quantum machine
# every sweep runs at the end of the schedule with the machine's own field).

# %%
pairs = torch.triu_indices(8, 8, offset=1)
gammas = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
exact_strength, sqa_strength, sqa_error = [], [], []
for gamma in gammas:
    machine = quantum_machine(gamma)
    exact = exact_correlations(machine)
    sampler = samplers.make("sqa", trotter=16, sweeps=200, seed=0)
    drawn = correlation_matrix(sampler.sample(machine, 10_000).double())
    exact_strength.append(exact[pairs[0], pairs[1]].abs().mean().item())
    sqa_strength.append(drawn[pairs[0], pairs[1]].abs().mean().item())
    sqa_error.append((drawn - exact).abs().max().item())
    print(
        f"Gamma {gamma:3.1f}: exact {exact_strength[-1]:.3f}, sqa {sqa_strength[-1]:.3f}, "
        f"largest gap {sqa_error[-1]:.3f}"
    )

plt.plot(gammas, exact_strength, "o-", label="exact (diagonalisation)")
plt.plot(gammas, sqa_strength, "x", markersize=10, label="sqa, 16 slices")
plt.xlabel("transverse field Gamma")
plt.ylabel("mean |<z_i z_j>|")
plt.legend()
plt.show()

# %% [markdown]
# The correlations weaken as Gamma grows, and the path-integral sampler follows the exact curve:
# its error comes from the finite number of slices (a Trotter error of order
# (beta Gamma / P)^2) and from the finite number of reads. `exact-quantum` draws from the exact
# distribution itself, for machines of up to 12 nodes; sqa scales to the latent sizes of the GAN.

# %%
assert all(later < earlier for earlier, later in pairwise(exact_strength))
assert max(sqa_error) < 0.06
