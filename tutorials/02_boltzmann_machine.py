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
# # A Boltzmann machine alone: gibbs, sqa and exact sampling
#
# The latent distribution of the network is a Boltzmann machine (paper Eq. 2-3):
# `P(z) ∝ exp(-beta E(z))` with `E(z) = -Σ h_i z_i - Σ J_ij z_i z_j` over spins ±1. Here we
# build one small enough to enumerate (16 nodes of a Chimera graph, 65,536 states), draw from
# it with three samplers and compare their moments `<z_i>` and `<z_i z_j>` with the exact
# ones. The same check, on 8 spins, is part of `qaaan doctor`.

# %%
import matplotlib.pyplot as plt
import torch

from qaaan import samplers, topology
from qaaan.bm import random_machine
from qaaan.samplers.exact import exact_moments, moment_deviation
from qaaan.temperature import effective_beta

graph = topology.chimera(16)
machine = random_machine(graph, seed=0, h_scale=0.5, J_scale=0.5)
print(f"{machine.num_nodes} nodes, {graph.number_of_edges()} couplings")

# %% [markdown]
# ## Three samplers
#
# `exact` draws independent samples from the enumerated distribution. `gibbs` runs persistent
# Markov chains (one chain per read, `sweeps` updates of every spin per call, after a burn-in).
# `sqa` is simulated quantum annealing: `trotter` coupled copies of the machine under a
# transverse field that is lowered to zero over `sweeps` sweeps; its reads are the copies at the
# end of the anneal. Every sampler is made by name with its options checked (`qaaan samplers`
# lists them all).

# %%
reads = 20_000
drawn = {
    "exact": samplers.make("exact", seed=0).sample(machine, reads),
    "gibbs": samplers.make("gibbs", sweeps=10, seed=0).sample(machine, reads),
    "sqa": samplers.make("sqa", trotter=8, sweeps=256, seed=0).sample(machine, reads),
}
deviation = {name: moment_deviation(spins, machine) for name, spins in drawn.items()}
for name, value in deviation.items():
    print(f"{name:6s} largest moment error {value:.4f}")

# %% [markdown]
# With 20,000 reads a moment estimate has a standard error of at most 1/sqrt(20000) ≈ 0.007,
# and the largest of 152 such errors is expected near 3 standard errors: all three samplers agree
# with enumeration to within a few hundredths. A simulated anneal ends near, not exactly at,
# the Boltzmann distribution (here 256 sweeps and 8 slices are enough on 16 nodes; fewer, or a
# harder machine, leave it further off), which is why gray-box training uses the sampler's own
# samples for the model moments.

# %%
assert deviation["exact"] < 0.04 and deviation["gibbs"] < 0.04
assert deviation["sqa"] < 0.06

# %% [markdown]
# ## The correlations, point by point
#
# Each dot is one pair of nodes: its exact `<z_i z_j>` against the sampled one.

# %%
_, exact_correlations = exact_moments(machine)
pairs = torch.triu_indices(machine.num_nodes, machine.num_nodes, offset=1)
exact_pairs = exact_correlations[pairs[0], pairs[1]]
figure, axes = plt.subplots(1, 3, figsize=(10, 3.3), sharey=True)
for axis, (name, spins) in zip(axes, drawn.items(), strict=True):
    sampled = (spins.T.double() @ spins.double() / reads)[pairs[0], pairs[1]]
    axis.scatter(exact_pairs, sampled, s=4)
    axis.plot([-1, 1], [-1, 1], color="grey", linewidth=0.5)
    axis.set(title=name, xlabel="exact <z_i z_j>")
axes[0].set_ylabel("sampled <z_i z_j>")
figure.tight_layout()
plt.show()

# %% [markdown]
# ## Temperature
#
# A sampler at `beta = 2` samples the same machine colder. `effective_beta` (paper Eq. 8)
# recovers the temperature from the samples alone, by maximum pseudo-likelihood; it is how a
# D-Wave device's unknown temperature is measured.

# %%
cold = samplers.make("gibbs", sweeps=10, beta=2.0, seed=0).sample(machine, reads)
estimate = effective_beta(machine, cold)
print(f"beta_eff = {estimate.beta:.3f} (95% interval {estimate.low:.3f} to {estimate.high:.3f})")
assert abs(estimate.beta - 2.0) < 0.1
