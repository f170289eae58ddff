"""Images of a run: the weight average, standing statistics, qaaan sample."""

import numpy as np
import pytest
import torch
from torch.optim.swa_utils import AveragedModel
from typer.testing import CliRunner

from qaaan import ConfigError, checkpoint, generation, nets
from qaaan.cli import app
from qaaan.loop import Trainer
from qaaan.nets import Generator
from tests.helpers import tiny

runner = CliRunner()


def test_the_weight_average_follows_its_recursion_and_is_what_a_run_generates(tmp_path):
    """The average starts at the generator after its first step (torch's AveragedModel), then
    average <- d * average + (1 - d) * generator after each step; generated images come from
    the average with batch-norm statistics recomputed for its weights."""
    trainer = Trainer(tiny(tmp_path, ema=0.75, iterations=2))
    trainer.step()
    start = [p.clone() for p in trainer.average.parameters()]
    assert all(
        torch.equal(a, g) for a, g in zip(start, trainer.generator.parameters(), strict=True)
    )
    trainer.step()
    for averaged, before, now in zip(
        trainer.average.parameters(), start, trainer.generator.parameters(), strict=True
    ):
        torch.testing.assert_close(averaged, 0.75 * before + 0.25 * now)
    trainer.iteration = 2
    trainer.checkpoint()
    state = checkpoint.load(tmp_path / "run" / checkpoint.CHECKPOINT)
    generator, _ = nets.build(trainer.settings, torch.device("cpu"))
    average = AveragedModel(generator)
    average.load_state_dict(state["generator_average"])
    latent = trainer.prior.preview_latent(6, seed=5)
    with torch.no_grad():
        expected = average.eval()(latent)
    images = generation.generated_images(tmp_path / "run", 6, seed=5, device="cpu")
    torch.testing.assert_close(images, expected)
    generator.load_state_dict(state["generator"])
    with torch.no_grad():
        assert not torch.allclose(images, generator.eval()(latent), atol=1e-3)


def test_standing_statistics_are_the_batch_norms_statistics_over_all_the_latents():
    torch.manual_seed(0)
    generator = Generator("grey28", 100, 8)
    latent = torch.rand(generation.STANDING_CHUNK * 4, 100) * 2 - 1
    first_norm = generator.project[1]
    with torch.no_grad():
        before_norm = generator.project[0](latent)
    generation.standing_statistics(generator, latent)
    assert not generator.training and first_norm.momentum == 0.1
    torch.testing.assert_close(first_norm.running_mean, before_norm.mean(dim=0))
    chunks = before_norm.split(generation.STANDING_CHUNK)
    variance = torch.stack([chunk.var(dim=0) for chunk in chunks]).mean(dim=0)
    torch.testing.assert_close(first_norm.running_var, variance)


def test_a_checkpoint_from_before_the_weight_average_generates_from_the_generator(tmp_path):
    Trainer(tiny(tmp_path, iterations=1)).run()
    path = tmp_path / "run" / checkpoint.CHECKPOINT
    state = torch.load(path, weights_only=True)
    del state["config"]["ema"], state["generator_average"]  # as written before the setting
    torch.save(state, path)
    assert checkpoint.load(path)["config"]["ema"] == 0.0
    assert generation.generated_images(tmp_path / "run", 4, seed=0, device="cpu").shape == (
        4,
        1,
        28,
        28,
    )
    with pytest.raises(ConfigError, match=r"--resume: ema is 0\.999 but the run used 0\.0"):
        Trainer(tiny(tmp_path, iterations=2, ema=0.999), resume=True)


def test_cli_train_then_sample(tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(
        app,
        ["train", "--dataset", "mnist-10k", "--iterations", "2", "--batch-size", "16",
         "--bm-samples", "64", "--out", str(out), "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["sample", "--checkpoint", str(out), "-n", "5", "--out", str(out / "x.npz")]
    )
    assert result.exit_code == 0, result.output
    images = np.load(out / "x.npz")["images"]
    assert images.shape == (5, 1, 28, 28) and np.abs(images).max() <= 1
    result = runner.invoke(
        app, ["sample", "--checkpoint", str(out), "-n", "8", "--out", str(out / "g.png")]
    )
    assert result.exit_code == 0 and (out / "g.png").stat().st_size > 0


def test_other_latent_sizes_train_and_sample(tmp_path):
    trainer = Trainer(tiny(tmp_path, latent=36, topology="bipartite", iterations=2))
    trainer.run()
    assert trainer.prior.bm.num_nodes == 36
    result = runner.invoke(
        app,
        [
            "sample",
            "--checkpoint",
            str(tmp_path / "run"),
            "-n",
            "100",
            "--out",
            str(tmp_path / "s.npz"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npz")["images"].shape == (100, 1, 28, 28)  # more than bm_samples
