"""qaaan: the quantum-assisted associative adversarial network (QAAAN).

A GAN whose latent prior is a Boltzmann machine that learns the discriminator's feature
distribution, sampled by a quantum annealer, simulated quantum annealing or classical MCMC.
"""

import os

if "LOCAL_WORLD_SIZE" in os.environ:
    # Under torchrun, each process on a machine gets its share of the cores for the numba
    # kernels: with a thread per core in every process, numba's spinning OpenMP threads compete
    # and an iteration runs about 10x slower. The limit must be set before numba is imported,
    # since numba.set_num_threads cannot lower the size of a pool that is already running.
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    _share = max(1, (_cores or 1) // int(os.environ["LOCAL_WORLD_SIZE"]))
    os.environ.setdefault("NUMBA_NUM_THREADS", str(_share))

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError

__all__ = ["BoltzmannMachine", "ConfigError", "samplers", "topology"]
__version__ = "0.1.0"
