"""The QPU path as dimod composites, one job each (paper section 6.2), outermost first:

    RetryComposite            timeout, retries with backoff, fallback sampler, QPU time
      RangeScaleComposite     h and J into the device's h_range and j_range
        FairCoinEmbeddingComposite   fixed embedding, chains, fair-coin majority vote
          ShuffledReadsComposite     one row per read, in random order
            the device               DWaveSampler, or a MockDWaveSampler whose substitute
              DeviceModelComposite   is wrapped in a real annealer's effects

`qaaan.samplers.hardware` builds this stack once per logical graph.
"""

from qaaan.samplers.composites.device import (
    DEVICES,
    DeviceModel,
    DeviceModelComposite,
    DevicePreset,
    Schedule,
)
from qaaan.samplers.composites.embedding import FairCoinEmbeddingComposite, fair_majority_vote
from qaaan.samplers.composites.reads import ShuffledReadsComposite, shuffled_reads
from qaaan.samplers.composites.retry import (
    QPUAccount,
    QPUUnavailable,
    RetryComposite,
    RetryPolicy,
)
from qaaan.samplers.composites.scaling import RangeScaleComposite, scale_factor

__all__ = [
    "DEVICES",
    "DeviceModel",
    "DeviceModelComposite",
    "DevicePreset",
    "FairCoinEmbeddingComposite",
    "QPUAccount",
    "QPUUnavailable",
    "RangeScaleComposite",
    "RetryComposite",
    "RetryPolicy",
    "Schedule",
    "ShuffledReadsComposite",
    "fair_majority_vote",
    "scale_factor",
    "shuffled_reads",
]
