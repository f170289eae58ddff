"""The `qaaan` command: what it prints, and one-line errors with exit code 2 for bad input."""

import json
import re

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from qaaan import data
from qaaan.cli import app
from qaaan.loop import Trainer
from tests.helpers import tiny

runner = CliRunner()


def test_sample_bm_compares_with_exact_enumeration():
    result = runner.invoke(
        app,
        ["sample-bm", "--topology", "bipartite", "--nodes", "8", "--sampler", "gibbs",
         "--sampler-option", "sweeps=5", "--reads", "4000", "--calls", "5"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bipartite(8), 16 edges" in result.output
    deviation = float(result.output.split("max |moment - exact|")[1].split()[1])
    assert deviation < 0.05


def test_sample_bm_reads_a_config_file_and_options_override_it(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('topology = "complete"\nnodes = 6\nsampler = "exact"\ncalls = 2\n')
    result = runner.invoke(app, ["sample-bm", "--config", str(config), "--nodes", "5"])
    assert result.exit_code == 0, result.output
    assert "complete(5), 10 edges" in result.output


def test_samplers_lists_the_registry():
    result = runner.invoke(app, ["samplers"])
    assert result.exit_code == 0
    for name in ("exact", "gibbs", "sa", "mock-dwave", "dwave"):
        assert name in result.output


SAMPLE_BM_REFUSALS = {
    "--sampler gibs": "unknown sampler 'gibs'; available:",
    "--topology ring": "topology = 'ring': input should be 'complete', 'bipartite'",
    "--nodes 0": "nodes = 0: input should be greater than or equal to 1",
    "--sampler-option sweeps": "option 'sweeps' must have the form KEY=VALUE",
    "--sampler-option sweeps=-2": "sampler_options.sweeps = -2: input should be greater",
    "--sampler-option color=red": "unknown key(s) of sampler_options color; allowed: sweeps",
    "--device tpu": "device = 'tpu': input should be 'auto', 'cpu' or 'cuda'",
    "--config missing.toml": "config file 'missing.toml' does not exist",
    "--sampler exact --nodes 30": "exact enumeration needs N <= 20, got N = 30",
    "--calls 0": "calls = 0: input should be greater than or equal to 1",
    "--seed -1": "seed = -1: input should be greater than or equal to 0",
    "--reads 0": "reads = 0: input should be greater than or equal to 1",
    "--sampler-option beta=1e-3x": "sampler_options.beta = '1e-3x': input should be a",
}


@pytest.mark.parametrize(("arguments", "message"), SAMPLE_BM_REFUSALS.items())
def test_bad_input_is_one_line_and_exit_code_2(arguments, message):
    result = runner.invoke(app, ["sample-bm", "--calls", "1", *arguments.split()])
    assert result.exit_code == 2
    error_lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and message in error_lines[0]


def test_bad_config_files(tmp_path):
    bad_key = tmp_path / "a.yaml"
    bad_key.write_text("nodez: 8\n")
    result = runner.invoke(app, ["sample-bm", "--config", str(bad_key)])
    assert result.exit_code == 2 and "unknown key(s) nodez; allowed: topology" in result.output
    bad_type = tmp_path / "b.toml"
    bad_type.write_text('nodes = "many"\n')
    result = runner.invoke(app, ["sample-bm", "--config", str(bad_type)])
    assert (
        result.exit_code == 2 and "nodes = 'many': input should be a valid integer" in result.output
    )
    broken = tmp_path / "c.toml"
    broken.write_text("nodes = = 3\n")
    result = runner.invoke(app, ["sample-bm", "--config", str(broken)])
    assert result.exit_code == 2 and "is not valid" in result.output


def test_option_values_are_read_as_numbers_where_they_are_numbers():
    from qaaan.cli import parse_option

    assert parse_option("beta=1e-3") == ("beta", 0.001)
    assert parse_option("sweeps=10") == ("sweeps", 10)
    assert parse_option("auto_scale=true") == ("auto_scale", True)
    assert parse_option("beta_range=[1, 2]") == ("beta_range", [1, 2])
    assert parse_option("solver=Advantage_system4.1") == ("solver", "Advantage_system4.1")


def _digits_posing_as_fashion_mnist(root):
    """A FashionMNIST folder (torchvision's IDX layout) holding the bundled MNIST digits."""
    digits = data.load("mnist-10k")
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for split, count in (("train", 10_000), ("t10k", 2000)):
        images = digits.images[:count, 0].numpy()
        header = np.array([2051, count, 28, 28], dtype=">i4").tobytes()
        (raw / f"{split}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        labels = digits.labels[:count].numpy().astype(np.uint8)
        header = np.array([2049, count], dtype=">i4").tobytes()
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(header + labels.tobytes())


def test_evaluate_scores_a_run_with_its_own_dataset_classifier(tmp_path):
    """A Fashion-MNIST run is scored against Fashion-MNIST by the shipped Fashion classifier:
    on digits stored as Fashion-MNIST it is right about 10% of the time, where the MNIST
    classifier is right 99% of the time."""
    fake = tmp_path / "data"
    _digits_posing_as_fashion_mnist(fake)
    result = runner.invoke(
        app, ["evaluate", "--real", "--dataset", "fashion-mnist", "--data-dir", str(fake),
              "--json", str(tmp_path / "real.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "real.json").read_text())["real"]["test_accuracy"] < 0.5
    run = tmp_path / "run"
    arguments = ["train", "--dataset", "mnist-10k", "--latent", "16", "--bm-samples", "16"]
    trained = runner.invoke(
        app, [*arguments, "--batch-size", "8", "--iterations", "1", "--out", str(run)]
    )
    assert trained.exit_code == 0, trained.output
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    state["config"]["dataset"] = "fashion-mnist"  # as if trained on Fashion-MNIST
    torch.save(state, run / "checkpoint.pt")
    # the folder holds no MNIST, so this succeeds only by reading the Fashion-MNIST test set
    result = runner.invoke(
        app, ["evaluate", "--checkpoint", str(run), "-n", "100", "--data-dir", str(fake), "--real",
              "--json", str(tmp_path / "run.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run.json").read_text())["real"]["test_accuracy"] < 0.5
    result = runner.invoke(app, ["evaluate", "--real", "--dataset", "cifar10"])
    assert result.exit_code == 2
    assert "classifiers score mnist or fashion-mnist runs, got dataset 'cifar10'" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["experiment", "graybox", "--iterations", "1", "--runs", "1", "--out", "{blocked}"],
        ["sweep", "{spec}", "--out", "{blocked}"],
        ["evaluate", "--real", "--json", "{blocked}/figures.json"],
        ["classifier", "train", "--epochs", "1", "--out", "{blocked}/weights.safetensors"],
        ["plot", "--checkpoint", "{results_folder}", "--out", "{blocked}"],
        ["train", "--dataset", "mnist-10k", "--iterations", "1", "--out", "{blocked}/run"],
    ],
)  # fmt: skip
def test_an_output_path_through_a_file_is_refused_in_one_line_before_the_work(tmp_path, command):
    blocked = tmp_path / "notes.txt"
    blocked.write_text("kept")
    run = tiny(tmp_path)
    Trainer(run.model_copy(update={"iterations": 1})).run()
    spec = tmp_path / "spec.toml"
    spec.write_text('seeds = [0]\n[base]\ndataset = "mnist-10k"\n[grid]\nprior = ["uniform"]\n')
    fill = {"blocked": str(blocked), "spec": str(spec), "results_folder": run.out}
    result = CliRunner().invoke(app, [part.format(**fill) for part in command])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()  # no progress bar: refused before the work
    assert line.startswith(f"error: cannot use '{blocked}")
    assert line.endswith(("File exists", "Not a directory"))
    assert blocked.read_text() == "kept"


def test_evaluate_refuses_a_folder_as_its_json_file(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--real", "--json", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {str(tmp_path)!r} is a folder; give a file name"


def leaf_commands(command, path: tuple[str, ...] = ()) -> list:
    if hasattr(command, "commands"):  # a group (typer's own click)
        return [
            leaf for name, child in command.commands.items()
            for leaf in leaf_commands(child, (*path, name))
        ]  # fmt: skip
    return [(" ".join(path), command)]


@pytest.mark.parametrize(
    ("name", "command"), leaf_commands(typer.main.get_command(app)), ids=lambda value: str(value)
)
def test_every_command_explains_itself_with_an_example_and_every_option_with_a_line(name, command):
    """Each option's line gives a value to copy: its default, or an example (a flag shows both
    of its forms)."""
    assert f"Example: qaaan {name}" in (command.help or ""), f"qaaan {name} has no example"
    options = [option for option in command.params if option.param_type_name == "option"]
    undescribed = [option.opts[0] for option in options if not option.help]
    assert not undescribed, f"qaaan {name}: options without a description: {undescribed}"
    context = command.context_class(command)
    without_a_value = [
        option.opts[0] for option in options
        if not option.is_flag and not option.hidden
        and not re.search(r"default: |e\.g\. ", option.get_help_record(context)[1])
    ]  # fmt: skip
    assert not without_a_value, (
        f"qaaan {name}: options without a default or an example: {without_a_value}"
    )
