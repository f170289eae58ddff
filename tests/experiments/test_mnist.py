"""The MNIST experiment (paper section 7) and merging its parts."""

import json

import pytest
from typer.testing import CliRunner

from qaaan.cli import app
from qaaan.experiments import mnist as experiment_mnist
from tests.helpers import results_file


def test_mnist_experiment_scores_every_variant(tmp_path):
    import os

    if "QAAAN_DATA" not in os.environ:
        pytest.skip("scores against the MNIST test set: set QAAAN_DATA")
    out = tmp_path / "mnist"
    arguments = ["experiment", "mnist", "--variants", "uniform,gibbs", "--seeds", "0,1",
                 "--iterations", "2", "--evaluate-n", "200", "--dataset", "mnist-10k",
                 "--width", "8", "--no-refine", "--ema", "0.9", "--device", "cpu",
                 "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["width"] == 8 and results["config"]["refine"] is False
    assert results["config"]["ema"] == 0.9
    summary = results["summary"]
    assert set(summary) == {"uniform", "gibbs"}
    for scores in summary.values():
        assert 1.0 <= scores["inception_score"]["mean"] <= 10.0 and scores["fid"]["mean"] > 0
    gibbs_seed1 = results["runs"]["gibbs"][1]
    assert f"gibbs seed 1: IS {gibbs_seed1['inception_score']:.2f}, " in result.output
    assert "| gibbs |" in (out / "results.md").read_text()
    assert "width 8, paper generator, weight average 0.9," in (out / "results.md").read_text()
    assert (out / "grids.png").stat().st_size > 5_000
    # a second call finds the finished runs and only evaluates them
    before = (out / "gibbs" / "seed0" / "checkpoint.pt").stat().st_mtime
    assert CliRunner().invoke(app, arguments).exit_code == 0
    assert (out / "gibbs" / "seed0" / "checkpoint.pt").stat().st_mtime == before
    # runs trained with other settings are refused, not reported as these settings
    result = CliRunner().invoke(app, [a for a in arguments if a != "--no-refine"])
    assert result.exit_code == 2
    assert "holds a run with other settings" in result.output
    assert "refine is True but the run used False" in result.output
    # --seeds trains the seeds named and no others (one machine per run, say)
    seeded = [*arguments[:3], "gibbs", "--seeds", "7", *arguments[6:]]
    result = CliRunner().invoke(app, seeded)
    assert result.exit_code == 0, result.output
    gibbs_runs = json.loads((out / "results.json").read_text())["runs"]["gibbs"]
    assert [row["seed"] for row in gibbs_runs] == [7]
    assert sorted(p.name for p in (out / "gibbs").iterdir()) == ["seed0", "seed1", "seed7"]
    assert (out / "results.md").read_text().startswith("seeds 7; 2 iterations")


def test_mnist_experiment_has_a_persistent_sqa_variant_outside_the_default_table(tmp_path):
    from qaaan.checkpoint import CHECKPOINT
    from qaaan.checkpoint import load as load_checkpoint
    from qaaan.settings import MnistSettings

    assert MnistSettings().variants == ["uniform", "gibbs", "sqa", "mock-dwave"]
    config = MnistSettings(variants=["sqa-persistent"], iterations=1, width=8,
                         dataset="mnist-10k", device="cpu", out=str(tmp_path))  # fmt: skip
    run_dir = experiment_mnist.train_one(config, "sqa-persistent", seed=0)
    settings = load_checkpoint(run_dir / CHECKPOINT)["config"]
    assert settings["sampler"] == "sqa"
    assert settings["sampler_options"] == {"initial_state": "persistent"}


@pytest.mark.parametrize(
    ("arguments", "config_text", "message"),
    [
        (["--seeds", "1,x"], None, "seeds.1 = 'x': input should be a valid integer"),
        (["--seeds", "-1"], None, "seeds.0 = -1: input should be greater than or equal to 0"),
        (["--seeds", "2,0,2,2"], None, "seeds must differ; repeated: 2"),
        (["--seeds", ","], None, "seeds = []: list should have at least 1 item"),
        ([], "seeds: [1, null]", "seeds.1 = None: input should be a valid integer"),
        ([], "seeds: 3", "seeds = 3: input should be a valid list"),
        ([], "runs: 3", "unknown key(s) runs; allowed: dataset"),
    ],
)  # fmt: skip
def test_mnist_experiment_refuses_bad_seeds_before_training(
    tmp_path, arguments, config_text, message
):
    out = tmp_path / "mnist"
    if config_text is not None:
        (tmp_path / "config.yaml").write_text(config_text)
        arguments = [*arguments, "--config", str(tmp_path / "config.yaml")]
    result = CliRunner().invoke(app, ["experiment", "mnist", *arguments, "--out", str(out)])
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_merge_joins_seeds_and_priors_run_apart(tmp_path):
    seed0 = results_file(tmp_path / "a", [0])
    seeds12 = results_file(tmp_path / "b", [2, 1], device="cuda")  # device may differ
    before = seeds12.read_text()
    out = tmp_path / "table"
    result = CliRunner().invoke(app, ["experiment", "merge", str(seeds12), str(seed0),
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    joined = json.loads((out / "results.json").read_text())
    assert joined["config"]["seeds"] == [0, 1, 2] and joined["config"]["out"] == str(out)
    assert [row["seed"] for row in joined["runs"]["gibbs"]] == [0, 1, 2]
    # IS of uniform over seeds 0, 1, 2 is 8, 9, 10; gibbs is one more
    uniform_is = joined["summary"]["uniform"]["inception_score"]
    assert uniform_is["mean"] == 9.0 and uniform_is["std"] == 1.0 and "p_value" not in uniform_is
    # 9 ± t(0.975, 2) / sqrt(3), t(0.975, 2) = 4.3026527
    assert uniform_is["ci95"] == pytest.approx([9 - 2.4841377, 9 + 2.4841377], abs=1e-6)
    # gibbs against uniform: one more IS at equal spread: d = 1, Welch's t = 1.2247 on 4 dof
    gibbs = joined["summary"]["gibbs"]
    assert gibbs["inception_score"]["effect_size"] == pytest.approx(1.0)
    assert gibbs["inception_score"]["p_value"] == pytest.approx(0.287864, abs=1e-6)
    assert gibbs["fid"]["mean"] == 20.0 and gibbs["fid"]["p_value"] == pytest.approx(1.0)
    assert gibbs["kl_to_uniform"]["p_value"] is None  # no spread in either: undefined
    table = (out / "results.md").read_text()
    assert table.startswith("seeds 0, 1, 2; 3000 iterations")
    assert "| gibbs | 10.000 ± 1.000 |" in result.output
    assert "| gibbs | d = +1.00, p = 0.288 | d = +0.00, p = 1.000 | – |" in table
    assert seeds12.read_text() == before
    # priors trained on different machines join too, in the table's usual order
    gibbs = results_file(tmp_path / "c", [0, 1], variants=["gibbs"])
    uniform = results_file(tmp_path / "d", [0, 1], variants=["uniform"])
    assert CliRunner().invoke(app, ["experiment", "merge", str(gibbs), str(uniform),
                                    "--out", str(tmp_path / "priors")]).exit_code == 0  # fmt: skip
    priors = json.loads((tmp_path / "priors" / "results.json").read_text())
    assert list(priors["runs"]) == ["uniform", "gibbs"] == priors["config"]["variants"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"seeds": [0]}, "uniform seed 0 is in two inputs"),
        ({"seeds": [1], "iterations": 15000},
         "has other settings: iterations 15000 where "),
        ({"seeds": [1], "variants": ["gibbs"]},
         "every prior needs the same seeds to compare, got uniform: 0; gibbs: 0, 1"),
        ({"seeds": [1], "variants": ["dcgan"]},
         "is not a results.json of `qaaan experiment mnist` (variants.0 = 'dcgan': input should"),
        (None, "is not a results.json of `qaaan experiment mnist`"),
        ("out", "holds one of the inputs; choose another folder"),
    ],
)  # fmt: skip
def test_merge_refuses_parts_of_different_tables(tmp_path, second, message):
    first = results_file(tmp_path / "a", [0])
    out = tmp_path / "table"
    if second is None:
        (tmp_path / "b").mkdir()
        (tmp_path / "b" / "results.json").write_text("{}")
        other = tmp_path / "b" / "results.json"
    elif second == "out":
        other, out = results_file(tmp_path / "b", [1]), tmp_path / "b"
    else:
        settings = {k: v for k, v in second.items() if k not in ("seeds", "variants")}
        variants = second.get("variants", ("uniform", "gibbs"))
        other = results_file(tmp_path / "b", second["seeds"], variants, **settings)
    before = other.read_text()
    result = CliRunner().invoke(app, ["experiment", "merge", str(first), str(other),
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "table").exists() and other.read_text() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": "1"}, "(a run's seed is '1')"),
        ({"fid": "7.3"}, "(seed 1's fid is '7.3')"),
        ({"fid": None}, "(seed 1's fid is None)"),
    ],
)
def test_merge_refuses_runs_without_an_integer_seed_and_numeric_scores(tmp_path, change, message):
    good = results_file(tmp_path / "a", [0])
    bad = results_file(tmp_path / "b", [1])
    results = json.loads(bad.read_text())
    results["runs"]["gibbs"][0].update(change)
    bad.write_text(json.dumps(results))
    result = CliRunner().invoke(app, ["experiment", "merge", str(good), str(bad),
                                      "--out", str(tmp_path / "table")])  # fmt: skip
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "table").exists()
