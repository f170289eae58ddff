"""Any installed dimod sampler by class name, and how bad classes and options are refused."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from qaaan import ConfigError, samplers, topology
from qaaan.bm import random_machine
from qaaan.checkpoint import CHECKPOINT
from qaaan.checkpoint import load as load_checkpoint
from qaaan.cli import app

runner = CliRunner()
TINY = ["--dataset", "mnist-10k", "--latent", "8", "--topology", "complete",
        "--bm-samples", "16", "--batch-size", "8", "--width", "4", "--iterations", "2",
        "--device", "cpu"]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "check"),
    [
        (["class=dwave.samplers.TabuSampler", "timeout=5"], {"timeout": 5}),
        (["class=dwave.samplers:PathIntegralAnnealingSampler", "num_sweeps=20"],
         {"num_sweeps": 20}),
    ],
)  # fmt: skip
def test_training_with_any_dimod_sampler(tmp_path, options, check):
    flags = [flag for option in options for flag in ("--sampler-option", option)]
    out = tmp_path / "run"
    arguments = ["train", *TINY, "--sampler", "dimod", *flags, "--out", str(out)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    state = load_checkpoint(out / CHECKPOINT)
    assert state["iteration"] == 2 and state["config"]["sampler"] == "dimod"
    assert check.items() <= state["config"]["sampler_options"].items()


def test_a_dimod_sampler_draws_the_machines_distribution_through_its_bqm():
    """PathIntegralAnnealingSampler at a constant, tiny transverse field is classical Boltzmann
    at its beta: <z_i> of a 3-spin machine against enumeration."""
    bm = random_machine(topology.complete(3), seed=0, h_scale=0.5, J_scale=0.5)
    sampler = samplers.make("dimod", **{"class": "dwave.samplers.TabuSampler"}, seed=1)
    spins = sampler.sample(bm, 20)
    ground = samplers.boltzmann_distribution(bm, beta=50.0)
    best = ground[0][ground[1].argmax()].float()
    assert spins.shape == (20, 3) and torch.equal(spins[0], best)  # tabu finds the ground state


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"class": "no.such.Sampler"}, "sampler_options.class = 'no.such.Sampler': no such class"),
        ({"class": "torch.nn.Linear"}, "'torch.nn.Linear': not a dimod.Sampler subclass"),
        ({"class": "dimod.Sampler"}, "dimod.Sampler() could not be built"),
        ({"class": "dwave.samplers.TabuSampler", "colour": 1},
         "dwave.samplers.TabuSampler takes no option(s) colour; it takes: "),
        ({}, "sampler_options.class is required"),
    ],
)  # fmt: skip
def test_bad_classes_and_options_are_one_line(options, message):
    with pytest.raises(ConfigError) as error:
        samplers.make("dimod", **options)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_bad_dimod_classes_exit_2_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["train", *TINY, "--sampler", "dimod", "--sampler-option", "class=x.Y", "--out", str(out)],
    )
    assert result.exit_code == 2 and result.output.startswith("error: sampler_options.class")
    assert not out.exists()
