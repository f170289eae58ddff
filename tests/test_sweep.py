"""Sweeps: the spec's checks, the plan of runs, and sweeps run by local workers and by Ray."""

import json
import math
import os
import time
import tomllib
from pathlib import Path

import numba
import pytest
import torch
from torch.utils.tensorboard import SummaryWriter
from typer.testing import CliRunner

from qaaan import sweep
from qaaan.cli import app
from qaaan.errors import ConfigError
from qaaan.settings import SweepSpec, build, read_file

runner = CliRunner()
TINY = (  # a spec's [base] and [evaluate] tables for runs of seconds
    '[base]\ndataset = "mnist-10k"\niterations = 2\nwidth = 8\nbatch_size = 16\n'
    'bm_samples = 64\nlatent = 16\ndevice = "cpu"\ncheckpoint_every = 1\n'
    "[evaluate]\nimages = 200\n"
)
needs_data = pytest.mark.skipif(
    "QAAAN_DATA" not in os.environ, reason="scores against the MNIST test set: set QAAAN_DATA"
)


def write_spec(tmp_path, text: str, name: str = "spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


GRID = '[grid]\nprior = ["bm"]'


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("[base]\nlearning_rate = 0.1\n" + GRID, "base.learning_rate: unknown setting"),
        ('[grid]\nlatent = ["8"]', "grid.latent = '8': input should be a valid integer"),
        ("[grid]\nlatent = [0]", "grid.latent = 0: input should be greater than or equal to 1"),
        ("[grid]\nlatent = 8", "grid.latent = 8: input should be a valid list"),
        ("[grid]\nlatent = []", "grid.latent must be a non-empty list of values, got []"),
        ("[grid]", "a spec needs [variants] or [grid]: there is nothing to run"),
        ('[variants]\nslow = { prior = "bm", latent = 0 }',
         "variants.slow.latent = 0: input should be greater than or equal to 1"),
        ('[variants]\nnoise = { prior = "uniform" }\n[grid]\nprior = ["bm"]',
         "prior in both variants.noise and grid: give each once"),
        ('baseline = { variant = "gibbs" }\n[variants]\nnoise = { prior = "uniform" }',
         "baseline variant = 'gibbs' is not a value of the spec's points (variant: ['noise'])"),
        ("[base]\nseed = 3\n" + GRID, "base.seed: set by the sweep"),
        ('[base]\nprior = "bm"\n[grid]\nprior = ["bm", "uniform"]',
         "prior in both base and grid: give each once"),
        ('baseline = { prior = "normal" }\n[grid]\nprior = ["bm", "uniform"]',
         "baseline prior = 'normal' is not a value of the spec's points (prior: ['bm', 'uniform"),
        ('[grid]\nsampler = ["gibbs", "glauber"]', "unknown sampler 'glauber'; available: "),
        (GRID + "\n[evaluate]\nimages = 1", "evaluate.images = 1: input should be greater"),
        (GRID + "\n[evaluate]\nimagez = 3", "unknown key(s) of evaluate imagez"),
    ],
)  # fmt: skip
def test_a_bad_spec_is_refused_in_one_line_before_anything_runs(tmp_path, spec, message):
    out = tmp_path / "out"
    spec = "seeds = [0]\n" + spec
    result = runner.invoke(app, ["sweep", str(write_spec(tmp_path, spec)), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert message in lines[0]
    assert not out.exists()


def test_a_spec_file_that_cannot_be_read_is_called_a_spec(tmp_path):
    broken = write_spec(tmp_path, "seeds = = [0]\n")
    for path in (broken, tmp_path / "missing.toml"):
        result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
        assert result.exit_code == 2 and f"error: spec {str(path)!r}" in result.output


@pytest.mark.parametrize(
    ("seeds", "message"),
    [("seeds = [0, 1, 0]\n", "seeds must differ; repeated: 0"), ("", "seeds is required")],
)
def test_seeds_are_required_and_distinct(tmp_path, seeds, message):
    spec = write_spec(tmp_path, seeds + GRID)
    result = runner.invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and f"error: {message}" in result.output


def tiny_spec(top: str, grid: str) -> str:
    """A spec's text: `top`-level keys (seeds, baseline), tiny runs and the `grid` table."""
    return top + TINY + "[grid]\n" + grid


def spec_of(top: str, grid: str) -> SweepSpec:
    return build(SweepSpec, tomllib.loads(tiny_spec(top, grid)))


@needs_data
def test_the_plan_drops_settings_a_prior_does_not_read_and_skips_what_cannot_run(tmp_path):
    spec = spec_of(
        'seeds = [0, 1]\nbaseline = { prior = "uniform" }\n',
        'prior = ["uniform", "bm", "qbm"]\nsampler = ["gibbs", "sqa"]',
    )
    the_plan = sweep.plan(spec, tmp_path)
    # uniform noise reads no sampler: one uniform run; the quantum machine is sampled by sqa
    assert list(the_plan.points) == [
        "prior=uniform", "prior=bm,sampler=gibbs", "prior=bm,sampler=sqa", "prior=qbm,sampler=sqa",
    ]  # fmt: skip
    skipped = {entry["point"]: entry["reason"] for entry in the_plan.skipped}
    assert skipped["prior=uniform,sampler=sqa"] == (
        "sampler not read by prior uniform: the same run as prior=uniform"
    )
    assert "sqa" in skipped["prior=qbm,sampler=gibbs"]  # qbm's own one-line error
    assert the_plan.baseline == "prior=uniform"
    assert [(run.point, run.seed) for run in the_plan.runs[:2]] == [
        ("prior=uniform", 0), ("prior=uniform", 1),
    ]  # fmt: skip
    bm_run = the_plan.runs[3]
    assert bm_run.folder == tmp_path / "prior=bm,sampler=gibbs" / "seed1"
    assert bm_run.settings["seed"] == 1 and bm_run.settings["latent"] == 16
    assert bm_run.settings["sampler"] == "gibbs" and bm_run.evaluation == {"images": 200}


@needs_data
def test_a_baseline_must_name_exactly_one_point_and_some_point_must_run(tmp_path):
    spec = spec_of('seeds = [0]\nbaseline = { prior = "bm" }\n',
                   'prior = ["bm"]\nsampler = ["gibbs", "sqa"]')  # fmt: skip
    with pytest.raises(ConfigError, match="must match one grid point, matches prior=bm,sampler"):
        sweep.plan(spec, tmp_path)
    spec = spec_of("seeds = [0]\n", 'prior = ["qbm"]\nsampler = ["gibbs"]')
    with pytest.raises(ConfigError, match="no grid point can run: prior=qbm,sampler=gibbs: "):
        sweep.plan(spec, tmp_path)


@needs_data
def test_a_local_sweep_scores_compares_records_failures_and_resumes(tmp_path):
    text = tiny_spec(
        'seeds = [0, 1]\nbaseline = { prior = "uniform" }\n',
        'prior = ["uniform", "bm"]\nsampler = ["gibbs", "qemcmc"]\n',
    )
    out = tmp_path / "out"
    arguments = ["sweep", str(write_spec(tmp_path, text)), "--workers", "2", "--out", str(out)]
    # the Boltzmann priors first (on one machine, say); qemcmc cannot simulate 16 spins, so its
    # runs fail and are recorded, and do not stop the others
    assert runner.invoke(app, [*arguments, "--only", "prior=bm,*"]).exit_code == 1
    assert not (out / "prior=uniform").exists()
    first = json.loads((out / "summary.json").read_text())
    assert [point["n"] for point in first["points"].values()] == [0, 2, 0]
    scored = out / "prior=bm,sampler=gibbs" / "seed0" / "checkpoint.pt"
    before = scored.stat().st_mtime_ns

    # then all of them: the scored runs are not touched, the failed ones are tried again
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1, result.output
    assert scored.stat().st_mtime_ns == before
    summary = json.loads((out / "summary.json").read_text())
    points = summary["points"]
    assert list(points) == ["prior=uniform", "prior=bm,sampler=gibbs", "prior=bm,sampler=qemcmc"]
    assert [points[name]["n"] for name in points] == [2, 2, 0]
    assert sorted((entry["point"], entry["seed"]) for entry in summary["failed"]) == [
        ("prior=bm,sampler=qemcmc", 0), ("prior=bm,sampler=qemcmc", 1),
    ]  # fmt: skip
    assert "N <= 12; got N = 16" in summary["failed"][0]["error"]
    gibbs = points["prior=bm,sampler=gibbs"]["scores"]
    fids = [row["fid"] for row in summary["runs"]["prior=bm,sampler=gibbs"]]
    assert gibbs["fid"]["mean"] == pytest.approx(sum(fids) / 2) and fids[0] != fids[1]
    assert 0 <= gibbs["fid"]["p_value"] <= 1  # Welch's test against the baseline
    assert "p_value" not in points["prior=uniform"]["scores"]["fid"]
    report = (out / "summary.md").read_text()
    assert "| prior=bm,sampler=gibbs | 2 |" in report and "Against prior=uniform" in report
    assert "- prior=bm,sampler=qemcmc seed 0: ConfigError: qemcmc simulates 2^N" in report
    assert "- prior=uniform,sampler=qemcmc: sampler not read by prior uniform" in report
    assert report in result.output.replace("\n\n\n", "\n\n")
    assert (out / "summary.png").stat().st_size > 5_000
    log = (out / "prior=bm,sampler=gibbs" / "seed0" / "train.log").read_text()
    assert "train:" in log  # each run's progress goes to its own log

    assert first["runs"]["prior=bm,sampler=gibbs"] == summary["runs"]["prior=bm,sampler=gibbs"]

    # the same folders with other settings are refused before anything runs
    other = write_spec(tmp_path, text.replace("width = 8", "width = 4"), "other.toml")
    result = runner.invoke(app, ["sweep", str(other), "--out", str(out)])
    assert result.exit_code == 2
    assert "holds a run with other settings" in result.output
    assert scored.stat().st_mtime_ns == before


@needs_data
def test_a_ray_sweep_runs_on_a_local_ray_and_scores_as_the_local_engine(tmp_path):
    pytest.importorskip("ray")
    text = tiny_spec("seeds = [3]\n", 'prior = ["uniform"]\n')
    scores = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        arguments = ["sweep", str(write_spec(tmp_path, text)), "--engine", engine]
        result = runner.invoke(app, [*arguments, "--out", str(out)])
        assert result.exit_code == 0, result.output
        summary = json.loads((out / "summary.json").read_text())
        scores[engine] = summary["runs"]["prior=uniform"][0]
        assert (out / "prior=uniform" / "seed3" / "checkpoint.pt").exists()
    assert scores["ray"]["class_shares"] == scores["local"]["class_shares"]
    assert scores["ray"]["fid"] == pytest.approx(scores["local"]["fid"], rel=1e-3)


SHIPPED = sorted((Path(__file__).parents[1] / "experiments").glob("*.toml"))


@needs_data
@pytest.mark.parametrize("path", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_every_shipped_spec_runs_every_point_against_a_baseline_with_three_seeds(tmp_path, path):
    spec = build(SweepSpec, read_file(path))
    the_plan = sweep.plan(spec, tmp_path)
    points = max(len(spec.variants), 1) * math.prod(len(values) for values in spec.grid.values())
    assert len(the_plan.points) == points and not the_plan.skipped
    assert the_plan.baseline in the_plan.points and len(spec.seeds) >= 3
    assert len(the_plan.runs) == points * len(spec.seeds)


@needs_data
def test_variants_are_crossed_with_the_grid_and_named_first(tmp_path):
    variants = (
        '[variants]\nnoise = { prior = "uniform" }\npersistent = { prior = "bm", sampler = "sqa",'
        ' sampler_options = { initial_state = "persistent" } }\n'
    )
    text = tiny_spec('seeds = [0]\nbaseline = { variant = "noise", bm_samples = 8 }\n', "")
    text = text.replace("bm_samples = 64\n", "").replace("[grid]\n", variants)
    spec = build(SweepSpec, tomllib.loads(text + "[grid]\nbm_samples = [8, 32]\n"))
    the_plan = sweep.plan(spec, tmp_path)
    # uniform noise reads no bm_samples: one noise point
    persistent = {
        "prior": "bm",
        "sampler": "sqa",
        "sampler_options": {"initial_state": "persistent"},
    }
    assert the_plan.points == {
        "noise": {"prior": "uniform"},
        "persistent,bm_samples=32": {**persistent, "bm_samples": 32},
    }
    assert the_plan.skipped == [
        {"point": "noise,bm_samples=32",
         "reason": "bm_samples not read by prior uniform: the same run as noise"},
        {"point": "persistent,bm_samples=8",
         "reason": "bm_samples (8) must be at least batch_size (16)"},
    ]  # fmt: skip
    assert the_plan.baseline == "noise"
    labels = [(name, values) for name, values in the_plan.points.items()]
    assert sweep.baseline_point({"sampler": "sqa"}, labels) == "persistent,bm_samples=32"
    with pytest.raises(ConfigError, match="must match one grid point, matches none of the poin"):
        sweep.baseline_point({"bm_samples": 8}, labels)


def test_scores_count_only_for_the_settings_and_images_they_were_made_with(tmp_path):
    settings = {"iterations": 3000, "seed": 0, "out": str(tmp_path)}

    def run(settings, images=10_000):
        return sweep.Run("uniform", 0, "train", settings, {"images": images})

    def scored(scores):
        saved = {"run": sweep.scored_as_run(run(settings)), "scores": scores}
        (tmp_path / sweep.SCORES_FILE).write_text(json.dumps(saved))

    every_score = dict.fromkeys(sweep.KINDS["train"].scores, 40.0) | {"chain_break_fraction": None}
    scored(every_score)
    assert sweep.read_scores(run(settings)) == every_score
    longer = run({**settings, "iterations": 18000})
    assert sweep.read_scores(longer) is None  # resumed to 18000 iterations, then scored anew
    assert sweep.read_scores(run(settings, images=200)) is None
    scored({"fid": 40.0})  # by a version that did not measure the chains: scored anew
    assert sweep.read_scores(run(settings)) is None


def test_each_local_worker_has_its_share_of_the_cores_for_torch_and_numba():
    share = max(1, (os.cpu_count() or 1) // 2)
    before = dict(os.environ)
    with sweep.worker_pool(2) as pool:
        torch_threads = pool.submit(torch.get_num_threads).result()
        numba_threads = pool.submit(numba.get_num_threads).result()
    assert torch_threads == numba_threads == share
    assert dict(os.environ) == before  # the sweep's own process is left as it was


def test_a_logged_figure_averages_each_iteration_once_over_a_resumed_log(tmp_path):
    first = SummaryWriter(str(tmp_path))
    for step, value in [(1, 0.1), (2, 0.2), (3, 0.9)]:  # step 3 lost to a kill, done again
        first.add_scalar("chain_break_fraction", value, step)
    first.close()
    time.sleep(1.1)  # the resumed run's event file sorts after the first one
    again = SummaryWriter(str(tmp_path))
    for step, value in [(3, 0.3), (4, 0.4)]:
        again.add_scalar("chain_break_fraction", value, step)
    again.close()
    means = sweep.logged_means(tmp_path, ["chain_break_fraction", "mean_chain_length"])
    assert means == {"chain_break_fraction": pytest.approx(0.25), "mean_chain_length": None}


@needs_data
def test_runs_on_the_qpu_path_are_scored_by_their_chains_and_others_are_not(tmp_path):
    text = tiny_spec(
        'seeds = [0]\nbaseline = { sampler = "gibbs" }\n',
        'sampler = ["gibbs", "mock-dwave"]\ntopology = ["complete"]\n',
    ).replace("latent = 16", "latent = 8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(write_spec(tmp_path, text)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    points = json.loads((out / "summary.json").read_text())["points"]
    qpu = points["sampler=mock-dwave,topology=complete"]["scores"]
    assert 0 <= qpu["chain_break_fraction"]["mean"] <= 1
    assert qpu["mean_chain_length"]["mean"] > 1  # complete(8) on a 2000Q needs chains
    assert "chain_break_fraction" not in points["sampler=gibbs,topology=complete"]["scores"]
    report = (out / "summary.md").read_text()
    assert "| FID | smallest class | KL to uniform | chain breaks | chain length |" in report
    assert "| sampler=gibbs,topology=complete | 1 |" in report and report.count("–") >= 2


FIT_SPEC = """kind = "fit"
seeds = [0, 1]
baseline = { topology = "complete" }
[base]
dataset = "mnist-10k"
sampler = "sqa"
lr = 0.03
iterations = 12
batch_size = 100
model_samples = 200
[grid]
topology = ["complete", "chimera"]
"""


def test_a_fit_sweep_scores_l1_plots_its_curves_and_keeps_its_runs(tmp_path):
    out = tmp_path / "out"
    arguments = ["sweep", str(write_spec(tmp_path, FIT_SPEC)), "--workers", "2", "--out", str(out)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    runs = summary["runs"]
    assert [len(row["curve"]) for row in runs["topology=chimera"]] == [13, 13]
    # at lr 0.03 the machines learn within 12 updates; the sparse Chimera graph has couplings
    # on its edges only, so it cannot fit all pairs as well as the complete graph
    points = summary["points"]
    complete, chimera = points["topology=complete"], points["topology=chimera"]
    first = runs["topology=complete"][0]["curve"][0]
    assert complete["scores"]["l1"]["mean"] < 0.5 * first
    assert complete["scores"]["l1"]["mean"] < chimera["scores"]["l1"]["mean"]
    assert chimera["scores"]["l1"]["p_value"] < 0.05
    report = (out / "summary.md").read_text()
    assert "| point | n | L1 |" in report and "L1 (Eq. 13)" in report
    assert (out / "summary.png").stat().st_size > 10_000
    scored = out / "topology=complete" / "seed1" / sweep.SCORES_FILE
    before = scored.stat().st_mtime_ns

    assert runner.invoke(app, arguments).exit_code == 0
    assert scored.stat().st_mtime_ns == before  # done: not run again
    longer = write_spec(tmp_path, FIT_SPEC.replace("= 12", "= 20"), "longer.toml")
    result = runner.invoke(app, ["sweep", str(longer), "--out", str(out)])
    assert result.exit_code == 2 and "holds a run with other settings" in result.output
    assert scored.stat().st_mtime_ns == before


def test_a_fit_spec_is_checked_against_the_settings_of_a_fit_run(tmp_path):
    text = FIT_SPEC.replace("lr = 0.03", "lr = 0.03\nlatent = 8")
    result = runner.invoke(app, ["sweep", str(write_spec(tmp_path, text)), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "base.latent: unknown setting 'latent'; allowed: dataset, data_dir" in result.output


def test_plot_panels_span_the_runs_on_a_log_scale_where_one_run_went_far_astray():
    from matplotlib.figure import Figure

    summary = {"runs": {"a": [{"fid": 50.0}, {"fid": 1500.0}, {"fid": None}], "b": [{"fid": 60.0}]}}
    assert sweep.measured(summary["runs"]["a"], "fid") == [50.0, 1500.0]
    astray, close = Figure().subplots(1, 2)
    sweep.span_the_runs(astray, [50.0, 1500.0, 60.0])
    assert astray.get_xscale() == "log" and astray.get_xlim()[0] < 50 < 1500 < astray.get_xlim()[1]
    sweep.span_the_runs(close, [7.2, 7.9])
    assert close.get_xscale() == "linear"
    assert close.get_xlim() == pytest.approx((7.13, 7.97))
