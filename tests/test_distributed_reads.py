"""Which processes draw the machine's samples (the reads seam)."""

import pytest
from typer.testing import CliRunner

from qaaan import ConfigError, distributed
from qaaan.settings import TrainSettings

runner = CliRunner()


@pytest.mark.parametrize(
    ("settings", "world_size", "split"),
    [
        ({"sampler": "gibbs"}, 2, True),  # auto: samplers that run here share the reads
        ({"sampler": "sqa"}, 4, True),
        ({"sampler": "mock-dwave"}, 2, False),  # auto: the QPU path is called once, by rank 0
        ({"sampler": "dwave"}, 2, False),
        ({"sampler": "gibbs", "bm_reads": "broadcast"}, 2, False),
        ({"sampler": "mock-dwave", "bm_reads": "split"}, 2, True),
        ({"sampler": "gibbs"}, 1, False),  # one process: nothing to share
        ({"prior": "uniform"}, 2, False),  # no machine
    ],
)
def test_reads_are_split_for_local_samplers_and_broadcast_for_the_qpu_path(
    settings, world_size, split
):
    assert distributed.reads_split(TrainSettings(**settings), world_size) is split


def test_split_reads_refuse_samples_the_processes_cannot_share():
    config = TrainSettings(bm_samples=1000, bm_reads="split")
    with pytest.raises(ConfigError, match=r"bm_samples \(1000\) divisible by the 3 processes"):
        distributed.reads_split(config, 3)
