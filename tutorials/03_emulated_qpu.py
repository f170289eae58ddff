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
# # The emulated QPU: embedding, chains and the device model
#
# `mock-dwave` runs the whole D-Wave path offline: the machine becomes a dimod problem (signs
# negated, see Concepts), each logical node is embedded as a chain of qubits on the device's
# working graph (here a 2000Q's Chimera), a substitute sampler plays the device, and the reads
# are unembedded (a broken chain is settled by a fair coin). Between the substitute and the
# mock sits the device model: the device's effective temperature, control errors on h and J,
# optionally freeze-out, and readout errors. Nothing here needs an account or a network.

# %%
import matplotlib.pyplot as plt

from qaaan import samplers, topology
from qaaan.bm import random_machine
from qaaan.samplers.exact import moment_deviation
from qaaan.temperature import effective_beta

machine = random_machine(topology.complete(8), seed=0, h_scale=0.3, J_scale=0.3)

# %% [markdown]
# ## Three devices
#
# An ideal device at beta = 1 (`device_model = false`); a device that runs at an effective
# inverse temperature of 2.5 with no other errors; the same with the 2000Q's published control
# and readout errors (the defaults, with their sources, are in the QPU guide).

# %%
devices = {
    "ideal, beta 1": {"device_model": False},
    "beta 2.5": {"device_beta": 2.5, "control_error": [0.0, 0.0], "readout_error": 0.0},
    "beta 2.5 + errors": {"device_beta": 2.5},
}
measured = {}
for name, options in devices.items():
    sampler = samplers.make("mock-dwave", seed=0, **options)
    spins = sampler.sample(machine, 5000)
    measured[name] = {
        "chain length": sampler.info["mean_chain_length"],
        "chain breaks": sampler.info["chain_break_fraction"],
        "beta_eff": effective_beta(machine, spins).beta,
        "error vs beta 1": moment_deviation(spins, machine),
    }
    print(name, {key: round(value, 3) for key, value in measured[name].items()})

# %% [markdown]
# A complete graph of 8 nodes needs chains of 3 qubits on Chimera. The chains are held together
# by a coupling as strong as the device allows (its J range); at beta 1 that is not enough, a
# fifth of the chains break, and the unembedded reads look *hotter* than the machine
# (beta_eff below 1). A colder device keeps its chains (about 1.5% break) and its reads come out
# at nearly its own temperature, 2.5: so their moments are far from those of the machine at
# beta 1. This is what gray-box training absorbs (paper section 4): it learns from the
# device's own reads, so the weights settle where the device's samples match the data, whatever
# its temperature and chains do.

# %%
names = list(measured)
figure, axes = plt.subplots(1, 2, figsize=(10, 3.3))
axes[0].bar(names, [measured[name]["chain breaks"] for name in names])
axes[0].set(title="chain-break fraction")
axes[1].bar(names, [measured[name]["beta_eff"] for name in names])
axes[1].axhline(2.5, color="grey", linewidth=0.5)
axes[1].set(title="effective beta of the reads (Eq. 8)")
figure.tight_layout()
plt.show()

# %%
assert measured["ideal, beta 1"]["chain breaks"] > 0.1
assert measured["beta 2.5"]["chain breaks"] < 0.05
assert abs(measured["beta 2.5"]["beta_eff"] - 2.5) < 0.3

# %% [markdown]
# The command line does the same through `qaaan train --sampler mock-dwave
# --sampler-option device_beta=2.5`, and `qaaan experiment graybox` measures gray-box against
# white-box training on such a device.
