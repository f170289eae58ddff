"""One sampler per run on the QPU path: training, sample grids and the weight average's
statistics share one solver connection and one embedding; a token never reaches the disk."""

from __future__ import annotations

import dwave.system
import pytest

from qaaan import ConfigError, generation, samplers
from qaaan.loop import Trainer, resume_settings
from qaaan.samplers import placement
from qaaan.samplers.hardware import mock_device
from tests.helpers import tiny

SECRET = "leap-token-that-must-not-be-saved-7f3a"


@pytest.fixture
def fake_leap(monkeypatch):
    """DWaveSampler replaced by a mock 2000Q; counts connections, solver calls, embeddings."""
    counts = {"connections": [], "calls": 0, "embeddings": 0}

    def connect(**config):
        counts["connections"].append(config)
        device = mock_device("2000q", 0.0, 0, samplers.make("gibbs", seed=0, sweeps=5, burn_in=0))
        solve = device.sample

        def counted(bqm, **parameters):
            counts["calls"] += 1
            return solve(bqm, **parameters)

        device.sample = counted
        return device

    def embedding(*arguments):
        counts["embeddings"] += 1
        return find(*arguments)

    find = placement.find_embedding
    monkeypatch.setattr(dwave.system, "DWaveSampler", connect)
    monkeypatch.setattr(placement, "find_embedding", embedding)
    return counts


def test_grids_and_the_weight_average_reuse_the_runs_connection_and_embedding(
    tmp_path, fake_leap, monkeypatch
):
    options = {"token": SECRET, "timeout": None}
    settings = tiny(
        tmp_path, latent=16, sampler="dwave", sampler_options=options, ema=0.9,
        iterations=4, grid_every=2, checkpoint_every=2,
    )  # fmt: skip
    Trainer(settings).run()
    assert len(fake_leap["connections"]) == 1 and fake_leap["embeddings"] == 1
    assert fake_leap["connections"][0]["token"] == SECRET
    # 4 iterations; at iterations 2 and 4 a grid (its latents and the average's statistics)
    # and a checkpoint (the average's statistics)
    assert fake_leap["calls"] == 4 + 2 * 3
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path

    # resuming takes the token again (it was not saved); the other options stay the run's
    changes = {"iterations": 6, "sampler_options": {"token": SECRET}}
    Trainer(resume_settings(tmp_path / "run", changes), resume=True).run()
    assert fake_leap["connections"][-1]["token"] == SECRET
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    with pytest.raises(ConfigError, match="--resume: sampler_options is"):
        resume_settings(tmp_path / "run", {"sampler_options": {"retries": 9}})

    calls = fake_leap["calls"]
    monkeypatch.setenv("DWAVE_API_TOKEN", "from-the-environment")
    generation.generated_images(tmp_path / "run", 8, seed=1, device="cpu")
    assert len(fake_leap["connections"]) == 3 and fake_leap["calls"] == calls + 1


def test_a_token_in_a_fallbacks_options_is_not_saved_either(tmp_path):
    options = {"fallback": "dwave", "fallback_options": {"token": SECRET, "retries": 0}}
    settings = tiny(tmp_path, latent=16, sampler="mock-dwave", sampler_options=options)
    Trainer(settings.model_copy(update={"iterations": 1})).run()
    saved = {path: path.read_bytes() for path in (tmp_path / "run").rglob("*") if path.is_file()}
    assert saved and not any(SECRET.encode() in content for content in saved.values())
    assert settings.public()["sampler_options"]["fallback_options"] == {"retries": 0}
