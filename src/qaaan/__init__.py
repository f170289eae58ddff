"""qaaan: the quantum-assisted associative adversarial network (QAAAN).

A GAN whose latent prior is a Boltzmann machine that learns the discriminator's feature
distribution, sampled by a quantum annealer, simulated quantum annealing or classical MCMC.
"""

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError

__all__ = ["BoltzmannMachine", "ConfigError", "samplers", "topology"]
__version__ = "0.1.0"
