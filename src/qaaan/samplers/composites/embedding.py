"""Chains on the device, and the logical reads back from them (paper section 6.2).

The embedding is fixed (found once per logical graph by `qaaan.samplers.placement`); chains
are coupled at the device's strongest ferromagnetic value (-1 on a 2000Q) unless a weaker
`chain_strength` is asked for: the strongest bond the device can hold, so that chains break as
rarely as the device allows. Unembedding is a majority
vote per chain with ties broken by a fair coin: dwave-system's ``majority_vote`` sets every
tied chain to +1, a bias towards +1 wherever a chain has an even length.

This is dwave-system's FixedEmbeddingComposite, which takes the unembedding as its
``chain_break_method``: `fair_majority_vote` has the signature of
``dwave.embedding.chain_breaks.majority_vote`` and gets the sampler's generator through
``functools.partial``, so no embedding code of our own is needed. The subclass only sets the
two defaults, refuses a chain strength the device cannot hold and reports the chains in the
sample set's info.

The coin is tossed once per row, so the child must give one row per read
(`qaaan.samplers.composites.reads`). A one-to-one embedding has no chains: Ocean relabels the
reads and tosses no coin.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import dimod
import numpy as np
from dwave.system import FixedEmbeddingComposite

from qaaan.errors import ConfigError
from qaaan.samplers.composites.layer import device_properties


def fair_majority_vote(
    samples: dimod.typing.SamplesLike, chains: Sequence, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each chain's majority value, a tie set by a fair coin from `rng`; every row is kept.

    Spin-valued samples give spins, binary ones bits (samples with no 0 are read as spins,
    which gives the same answer for all-ones binary samples).
    """
    values, labels = dimod.as_samples(samples)
    column = {label: i for i, label in enumerate(labels)}
    binary = not values.all()
    spins = 2 * values.astype(np.int64) - 1 if binary else values
    votes = np.zeros((len(spins), len(chains)), dtype=np.int64)
    for i, chain in enumerate(chains):
        votes[:, i] = spins[:, [column[q] for q in chain]].sum(axis=1)
    coin = rng.choice(np.array([-1, 1], dtype=np.int8), size=votes.shape)
    unembedded = np.where(votes == 0, coin, np.sign(votes)).astype(np.int8)
    if binary:
        unembedded = (unembedded + 1) // 2
    return unembedded, np.arange(len(spins))


class FairCoinEmbeddingComposite(FixedEmbeddingComposite):
    """A fixed embedding, chains at `chain_strength` (device J units; None: the strongest
    ferromagnet the device holds), ties broken by a fair coin.

    Info gains ``chain_break_fraction`` (the share of chains broken, over all reads) and the
    chains' ``max_chain_length``, ``mean_chain_length`` and ``qubits``.
    """

    def __init__(
        self,
        child_sampler: dimod.Sampler,
        embedding: dict,
        rng: np.random.Generator,
        chain_strength: float | None = None,
    ):
        super().__init__(child_sampler, embedding)
        self.chain_strength = chain_strength
        # named like the function, for Ocean's return_embedding, which reports the method's name
        self.fair_coin = functools.update_wrapper(
            functools.partial(fair_majority_vote, rng=rng), fair_majority_vote
        )

    @dimod.decorators.nonblocking_sample_method
    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any):
        parameters.setdefault("chain_strength", self.strength())
        parameters.setdefault("chain_break_method", self.fair_coin)
        sampleset = super().sample(bqm, **parameters)
        yield sampleset
        record = sampleset.record
        if "chain_break_fraction" in record.dtype.names:  # unless the caller asked for none
            sampleset.info["chain_break_fraction"] = float(
                np.average(record.chain_break_fraction, weights=record.num_occurrences)
            )
        sampleset.info.update(self.chain_figures())
        yield sampleset

    def strength(self) -> float:
        """The chains' coupling: the one asked for, at most the device's strongest ferromagnet."""
        strongest = -min(device_properties(self.child)["j_range"])
        if self.chain_strength is None:
            return strongest
        if not 0 < self.chain_strength <= strongest:
            raise ConfigError(
                f"chain_strength = {self.chain_strength:g}: this device holds chains at "
                f"0 < chain_strength <= {strongest:g} (its strongest ferromagnet)"
            )
        return self.chain_strength

    def chain_figures(self) -> dict[str, float | int]:
        """How long the chains are, and how many qubits they take."""
        lengths = [len(chain) for chain in self.embedding.values()]
        return {
            "max_chain_length": max(lengths, default=0),
            "mean_chain_length": float(np.mean(lengths)) if lengths else 0.0,
            "qubits": sum(lengths),
        }
