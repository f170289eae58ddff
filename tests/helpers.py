"""Settings small enough for a test run."""

from qaaan.settings import TrainSettings


def tiny(tmp_path, **changes) -> TrainSettings:
    """A run small enough for a test: 8-channel nets, 16 images a batch, 64 model samples."""
    settings = {
        "dataset": "mnist-10k", "iterations": 4, "batch_size": 16, "width": 8,
        "bm_samples": 64, "out": str(tmp_path / "run"), "checkpoint_every": 2,
        "beta_eff_every": 2, "device": "cpu",
    }  # fmt: skip
    return TrainSettings(**{**settings, **changes})
