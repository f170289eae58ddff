"""Every setting declared once: the CLI, config files, resume rules, saved settings and the docs
are derived from the models of `qaaan.settings`, and every wrong value is one line, exit 2."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

from qaaan import ConfigError, settings
from qaaan.cli import app
from tests.strategies import one_bad_setting

runner = CliRunner()
SWEEP = hypothesis_settings(
    max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


@pytest.mark.parametrize(("command", "model"), list(settings.COMMANDS.items()))
def test_every_field_is_an_option_with_its_default_and_range_in_help(command, model):
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    for name, field in model.model_fields.items():
        flag = ("-" if len(name) == 1 else "--") + name.replace("_", "-")
        assert flag.removesuffix("s") in result.output, flag
        if field.default not in (None, {}):
            assert f"default: {field.default!r}" in result.output, name
        if rule := settings.rule_text(field):
            assert rule in result.output, name


def test_the_resume_rules_come_from_the_declarations():
    assert settings.TrainSettings.resumable() == (
        "data_dir", "iterations", "epochs", "device", "precision", "channels_last", "compile",
        "out", "checkpoint_every", "log_every", "beta_eff_every", "grid_every",
    )  # fmt: skip
    saved = settings.TrainSettings().public()
    changed = settings.resumed(settings.TrainSettings, saved, {"iterations": 9, "out": "x"})
    assert changed.iterations == 9 and changed.out == "x"
    with pytest.raises(ConfigError, match=r"--resume: lr is 0\.1 but the run used 0\.0002"):
        settings.resumed(settings.TrainSettings, saved, {"lr": 0.1})


def test_the_settings_reference_in_the_docs_is_generated_from_the_declarations():
    page = Path(__file__).parents[1] / "docs" / "reference" / "settings.md"
    assert page.read_text() == settings.reference(), "regenerate: python -m qaaan.settings"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sampler_options = 3", "sampler_options = 3: input should be a valid dictionary"),
        ('sampler_options = "beta=1"', "sampler_options = 'beta=1': input should be a valid dict"),
        ("[sampler_options]\nbeta = [1]", "sampler_options.beta = [1]: input should be a valid"),
        ('sampler = "sqa"\n[sampler_options]\nschedule = "up"', "schedule = 'up': schedule must"),
        ("batch_size = 1.5", "batch_size = 1.5: input should be a valid integer"),
        ('lr = "0.1"', "lr = '0.1': input should be a valid number"),
        ("refine = 1", "refine = 1: input should be a valid boolean"),
        ("bm_samples = 8\nbatch_size = 16", "bm_samples (8) must be at least batch_size (16)"),
    ],
)
def test_wrongly_typed_nested_values_in_a_config_file_are_one_line(tmp_path, text, message):
    config = tmp_path / "run.toml"
    config.write_text(text + "\n")
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and message in line
    assert not out.exists()


@SWEEP
@given(bad=one_bad_setting(settings.TrainSettings, skip=("out", "data_dir")))
def test_every_setting_refuses_a_wrong_value_in_one_line_and_writes_nothing(bad):
    name, value = bad
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "run.yaml"
        config.write_text(yaml.safe_dump({name: value}))
        out = Path(folder) / "run"
        result = runner.invoke(app, ["train", "--config", str(config), "--out", str(out)])
        assert result.exit_code == 2, (bad, result.output)
        (line,) = result.output.strip().splitlines()
        assert line.startswith(f"error: {name}") or line.startswith("error: unknown sampler")
        assert not out.exists()


@SWEEP
@given(bad=one_bad_setting(settings.SweepSettings, skip=("out", "address")))
def test_the_sweeps_settings_refuse_wrong_values_too(bad):
    name, value = bad
    with pytest.raises(ConfigError, match=f"^{name}"):
        settings.build(settings.SweepSettings, {name: value})


def test_mappings_are_joined_key_by_key_across_layers(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('sampler = "sqa"\n[sampler_options]\nbeta = 2.0\n')
    file_values = settings.read_file(config)
    built = settings.build(
        settings.SampleBMSettings, file_values, {"sampler_options": {"sweeps": 4}}
    )
    assert built.sampler_options == {"beta": 2.0, "sweeps": 4}


def test_resume_compares_options_by_effect_and_refuses_a_preset(tmp_path):
    saved = settings.TrainSettings().public()
    same = settings.resumed(settings.TrainSettings, saved, {"sampler_options": {"sweeps": 1}})
    assert same.sampler_options == {"sweeps": 1}  # 1 is gibbs's default: the same run
    with pytest.raises(ConfigError, match=r"--resume: sampler_options is .*'sweeps': 2"):
        settings.resumed(settings.TrainSettings, saved, {"sampler_options": {"sweeps": 2}})
    result = runner.invoke(app, ["train", "--resume", "--preset", "quick", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--preset starts a new run" in result.output


def test_secret_values_are_not_shown_in_errors():
    with pytest.raises(ConfigError) as error:
        settings.build(
            settings.TrainSettings, {"sampler": "dwave", "sampler_options": {"token": 5}}
        )
    assert "sampler_options.token = '***'" in str(error.value) and "5" not in str(error.value)


def test_a_config_file_that_is_not_text_is_one_line(tmp_path):
    config = tmp_path / "run.toml"
    config.write_bytes(b"\xff\xfe")
    result = runner.invoke(app, ["sample-bm", "--config", str(config)])
    assert result.exit_code == 2 and "is not UTF-8 text" in result.output


def test_a_run_length_is_given_once_and_a_later_layer_replaces_it(tmp_path):
    result = runner.invoke(app, ["train", "--iterations", "5", "--epochs", "1"])
    assert result.exit_code == 2
    assert "iterations = 5 and epochs = 1 are both given: give one" in result.output
    config = tmp_path / "run.toml"
    config.write_text("epochs = 3\n")
    from_file = settings.read_file(config)
    built = settings.build(settings.TrainSettings, from_file, {"iterations": 7})
    assert (built.iterations, built.epochs) == (7, None)
    assert settings.build(settings.TrainSettings, {"iterations": 7}, from_file).epochs == 3
    saved = settings.build(settings.TrainSettings, from_file).public()
    longer = settings.resumed(settings.TrainSettings, saved, {"iterations": 9})
    assert (longer.iterations, longer.epochs) == (9, None)
    config.write_text("epochs = 3\niterations = 4\n")
    with pytest.raises(ConfigError, match="iterations = 4 and epochs = 3 are both given"):
        settings.read_file(config)


def test_every_preset_builds_and_the_mnist_preset_is_the_variant_its_quality_was_checked_as():
    for preset in settings.PRESETS.values():
        settings.build(settings.TrainSettings, preset)
    spec = settings.read_file(Path(__file__).parents[1] / "experiments" / "mnist_fast.toml")
    checked = [spec["base"], spec["variants"]["gibbs-batch128"]]
    preset = settings.build(settings.TrainSettings, settings.PRESETS["mnist"])
    assert settings.build(settings.TrainSettings, *checked) == preset
    assert (preset.batch_size, preset.iterations, preset.precision) == (128, 7500, "bfloat16")
