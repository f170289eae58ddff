"""The checkpoint format: atomic writes, older checkpoints, resume rules."""

import pytest
import torch
from typer.testing import CliRunner

from qaaan import ConfigError, checkpoint, generation
from qaaan.cli import app
from qaaan.loop import Trainer, resume_settings
from tests.helpers import tiny

runner = CliRunner()


def test_a_checkpoint_from_before_refine_loads_as_the_papers_generator(tmp_path):
    Trainer(tiny(tmp_path, iterations=1, refine=False)).run()
    path = tmp_path / "run" / checkpoint.CHECKPOINT
    state = torch.load(path, weights_only=True)
    del state["config"]["refine"]  # as written before the setting existed
    torch.save(state, path)
    assert generation.generated_images(tmp_path / "run", 4, seed=0, device="cpu").shape == (
        4,
        1,
        28,
        28,
    )
    Trainer(tiny(tmp_path, iterations=2, refine=False), resume=True).run()
    with pytest.raises(ConfigError, match="--resume: refine is True but the run used False"):
        Trainer(tiny(tmp_path, iterations=3), resume=True)


def test_a_mock_dwave_run_from_before_the_device_model_resumes_on_an_ideal_device(tmp_path):
    options = {"dead_fraction": 0.01, "substitute_options": {"sweeps": 2}}
    settings = tiny(tmp_path, iterations=1, latent=16, sampler="mock-dwave")
    Trainer(settings.model_copy(update={"sampler_options": options})).run()
    path = tmp_path / "run" / checkpoint.CHECKPOINT
    assert checkpoint.load(path)["config"]["sampler_options"] == options  # today's format
    state = torch.load(path, weights_only=True)
    del state["format"]  # as written before the device model existed
    torch.save(state, path)
    saved = checkpoint.load(path)["config"]["sampler_options"]
    assert saved == {"device_model": False, **options}
    resumed = resume_settings(tmp_path / "run", {"iterations": 2})
    assert resumed.sampler_options["device_model"] is False
    Trainer(resumed, resume=True).run()
    assert checkpoint.load(path)["format"] == checkpoint.FORMAT


def test_a_killed_checkpoint_write_leaves_the_last_one_intact(tmp_path, monkeypatch):
    trainer = Trainer(tiny(tmp_path, iterations=2))
    trainer.run()
    path = tmp_path / "run" / checkpoint.CHECKPOINT
    good = path.read_bytes()

    def killed(state, target):
        with open(target, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.checkpoint()
    assert path.read_bytes() == good
    assert checkpoint.load(path)["iteration"] == 2


def test_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / checkpoint.CHECKPOINT).write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["train", "--dataset", "mnist-10k", "--out", str(run), "--resume"])
    assert result.exit_code == 2 and "is corrupt or not a qaaan checkpoint" in result.output
    torch.save({"weights": torch.ones(2)}, run / checkpoint.CHECKPOINT)
    result = runner.invoke(app, ["sample", "--checkpoint", str(run)])
    assert result.exit_code == 2 and "is not a qaaan training checkpoint" in result.output


def test_resume_refuses_a_different_run(tmp_path):
    Trainer(tiny(tmp_path, iterations=1)).run()
    other = tiny(tmp_path, iterations=2, prior="uniform")
    with pytest.raises(ConfigError, match="--resume: prior is 'uniform' but the run used 'bm'"):
        Trainer(other, resume=True)


def test_cli_resume_keeps_the_saved_settings(tmp_path):
    out = str(tmp_path / "run")
    base = ["train", "--dataset", "mnist-10k", "--batch-size", "16", "--bm-samples", "64",
            "--out", out, "--device", "cpu"]  # fmt: skip
    assert runner.invoke(app, [*base, "--iterations", "2"]).exit_code == 0
    # a new run into the same directory would overwrite it: refused
    result = runner.invoke(app, [*base, "--iterations", "4"])
    assert (
        result.exit_code == 2 and "already holds a run: continue it with --resume" in result.output
    )
    # resuming with only --out and --iterations uses the run's batch size and sample count
    result = runner.invoke(app, ["train", "--out", out, "--iterations", "3", "--resume"])
    assert result.exit_code == 0, result.output
    state = checkpoint.load(tmp_path / "run" / checkpoint.CHECKPOINT)
    assert state["iteration"] == 3 and state["config"]["bm_samples"] == 64
    result = runner.invoke(
        app, ["train", "--out", out, "--iterations", "4", "--resume", "--seed", "5"]
    )
    assert result.exit_code == 2 and "--resume: seed is 5 but the run used 0" in result.output
