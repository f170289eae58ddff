"""Training curves and the class histogram of `qaaan plot`."""

import pytest
from typer.testing import CliRunner

from qaaan.cli import app


def test_plot_writes_curves_and_the_class_histogram(tmp_path):
    import os

    from qaaan import plots
    from qaaan.loop import Trainer
    from qaaan.settings import TrainSettings

    if "QAAAN_DATA" not in os.environ:
        pytest.skip("the class histogram uses the shipped classifier on generated digits")
    config = TrainSettings(
        dataset="mnist-10k", iterations=4, batch_size=16, width=8, bm_samples=64,
        log_every=1, out=str(tmp_path / "run"), device="cpu",
    )  # fmt: skip
    Trainer(config).run()
    scalars = plots.read_scalars(tmp_path / "run")
    assert scalars["loss_d"][0] == [1, 2, 3, 4] and len(scalars["l1"][1]) == 4
    result = CliRunner().invoke(app, ["plot", "--checkpoint", str(tmp_path / "run"), "-n", "100"])
    assert result.exit_code == 0, result.output
    for name in ("curves.png", "classes.png"):
        assert (tmp_path / "run" / name).stat().st_size > 10_000
    result = CliRunner().invoke(app, ["plot", "--checkpoint", str(tmp_path)])
    assert result.exit_code == 2 and "no checkpoint at" in result.output
