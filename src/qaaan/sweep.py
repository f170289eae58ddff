"""Sweeps: the runs of an experiment from one spec, on worker processes or a Ray cluster, and
their comparison with statistics (`qaaan sweep`).

A spec (`qaaan.settings.SweepSpec`, a TOML file) names the kind of its runs, the seeds, the
settings every run shares (``[base]``), the settings to vary (``[grid]``: a run for every
combination and seed), the grid point the others are compared with (``baseline``) and how runs
are scored (``[evaluate]``). A run of kind ``train`` is a normal training run (any `qaaan train`
setting), scored by IS, FID and class shares, and on the QPU path by its chains (the
chain-break fraction and the mean chain length over its iterations, from its TensorBoard log);
a run of kind ``fit`` is a 36-node Boltzmann machine learning 6x6 MNIST alone (`qaaan.fit`),
scored by L1 (Eq. 13). Every run has its own
folder, ``OUT/<point>/seed<k>``, with its log and, once scored, ``scores.json`` (and for a
training run its checkpoint).

Running a spec again skips the scored runs, resumes the interrupted training runs from their
checkpoints (and the finished ones, when the spec raised `iterations`, then scores them again),
runs again the interrupted fit runs (they take seconds) and retries the failed ones; a failed
run is recorded with its error and does not stop the others. A folder that holds a run with
other settings is refused before anything starts.

A varied setting that its point's prior does not read (a sampler, for uniform noise) is dropped
from that point; points that thereby become the same run are run once and the others are listed
as skipped, as are points whose settings cannot combine (with `qaaan train`'s one-line error).

``[variants]`` names points by a table of settings each (a prior with its sampler and their
options), crossed with the grid; a point's name is its variant, then its grid settings.

The summary (``summary.json``, ``summary.md``, ``summary.png``) gives each point's scores over
its seeds (mean, std, 95% interval) and Welch's test against the baseline (`qaaan.comparison`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import itertools
import json
import multiprocessing
import os
import statistics
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import torch
from matplotlib.figure import Figure
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator
from tqdm import tqdm

from qaaan import checkpoint, comparison, data, fit, metrics
from qaaan.errors import ConfigError, first_line
from qaaan.generation import generated_images
from qaaan.loop import Trainer
from qaaan.settings import (
    FitSettings,
    Settings,
    SweepSettings,
    SweepSpec,
    TrainSettings,
    build,
    resumed,
)

SCORES_FILE = "scores.json"
LOG_FILE = "train.log"


@dataclass(frozen=True)
class Run:
    """One training run of a sweep: its grid point, seed, settings and how it is scored."""

    point: str
    seed: int
    kind: str
    settings: dict[str, Any]  # every setting of a run of its kind, out included
    evaluation: dict[str, Any]  # the spec's [evaluate] table, for a training run

    @property
    def folder(self) -> Path:
        return Path(self.settings["out"])


@dataclass
class Plan:
    """What a spec asks for: the distinct grid points, their runs, and the points skipped."""

    points: dict[str, dict[str, Any]]  # name: the settings it runs with, beyond base
    runs: list[Run]
    skipped: list[dict[str, str]] = field(default_factory=list)  # point and reason
    baseline: str | None = None


def point_name(variant: str | None, varied: dict[str, Any]) -> str:
    """A grid point's name and folder: its variant, then its grid settings as key=value."""

    def text(value: Any) -> str:
        if isinstance(value, dict):
            return "+".join(f"{key}:{text(item)}" for key, item in value.items()) or "none"
        if isinstance(value, list):
            return "-".join(map(text, value))
        return str(value)

    parts = [variant] if variant else []
    parts += [f"{key}={text(value)}" for key, value in varied.items()]
    return ",".join(parts) or "base"


def plan(spec: SweepSpec, out: Path) -> Plan:
    """The spec's runs; points that repeat another or cannot combine are skipped and listed."""
    points: dict[str, dict[str, Any]] = {}
    labels: list[tuple[str, dict]] = []  # a point and a combination that gives it, by name
    skipped = []
    variants = spec.variants or {None: {}}
    model = spec.run_settings
    for (variant, chosen), combination in itertools.product(
        variants.items(), itertools.product(*spec.grid.values())
    ):
        varied = dict(zip(spec.grid, combination, strict=True))
        values = {**chosen, **varied}
        unread = [name for name in values if not model.applies(name, {**spec.base, **values})]
        kept = {name: value for name, value in values.items() if name not in unread}
        name = point_name(variant, {key: varied[key] for key in varied if key not in unread})
        same = next((other for other, settings in points.items() if settings == kept), None)
        if same is not None:
            labels.append((same, {"variant": variant, **values}))
            why = f"{', '.join(unread)} not read by {unread_by(spec, values)}: " if unread else ""
            skipped.append(
                {"point": point_name(variant, varied), "reason": f"{why}the same run as {same}"}
            )
            continue
        try:
            build(model, spec.base, kept, {"seed": spec.seeds[0]})
        except ConfigError as error:
            skipped.append({"point": point_name(variant, varied), "reason": str(error)})
            continue
        points[name] = kept
        labels.append((name, {"variant": variant, **values}))
    if not points:
        raise ConfigError(f"no grid point can run: {skipped[0]['point']}: {skipped[0]['reason']}")
    evaluation = spec.evaluate.model_dump() if spec.kind == "train" else {}
    runs = [
        Run(
            name,
            seed,
            spec.kind,
            run_settings(spec, values, seed, out / name / f"seed{seed}"),
            evaluation,
        )
        for name, values in points.items()
        for seed in spec.seeds
    ]
    first = runs[0].settings
    if spec.kind == "train":  # the held-out images load, before any run starts
        test_images(metrics.classifier_for(first["dataset"]), first["data_dir"])
    return Plan(points, runs, skipped, baseline_point(spec.baseline, labels))


def unread_by(spec: SweepSpec, values: dict[str, Any]) -> str:
    """What does not read a dropped setting: the point's prior."""
    prior = {**spec.base, **values}.get("prior", TrainSettings.model_fields["prior"].default)
    return f"prior {prior}"


def run_settings(spec: SweepSpec, values: dict[str, Any], seed: int, folder: Path) -> dict:
    """Every setting of one run."""
    settings = build(spec.run_settings, spec.base, values, {"seed": seed, "out": str(folder)})
    return settings.public()


def baseline_point(baseline: dict[str, Any] | None, labels: list[tuple[str, dict]]) -> str | None:
    """The one grid point given by the combinations (variant and settings) that the spec's
    baseline names."""
    if baseline is None:
        return None
    matching = list(
        dict.fromkeys(
            name
            for name, label in labels
            if all(label.get(key) == value for key, value in baseline.items())
        )
    )
    if len(matching) != 1:
        found = ", ".join(matching) or "none of the points that run"
        raise ConfigError(f"baseline {baseline} must match one grid point, matches {found}")
    return matching[0]


def check_folders(runs: list[Run]) -> None:
    """Refuses, before any run starts, a run folder that holds a run with other settings."""
    for run in runs:
        kind = KINDS[run.kind]
        saved = kind.saved_settings(run)
        if saved is not None:
            try:
                resumed(kind.settings, saved, run.settings)
            except ConfigError as error:
                raise ConfigError(
                    f"{str(run.folder)!r} holds a run with other settings ({error})"
                ) from None


# ---- one run, in a worker --------------------------------------------------------------------


def run_one(run: Run) -> dict[str, Any]:
    """Trains (or resumes) and scores one run, its output in its folder's log; its scores, or
    the error that stopped it, so that one failed run does not stop the others."""
    run.folder.mkdir(parents=True, exist_ok=True)
    with (
        open(run.folder / LOG_FILE, "a") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        try:
            return {"scores": KINDS[run.kind].run_and_score(run)}
        except Exception as error:  # any failure: recorded in the summary
            print(f"failed: {type(error).__name__}: {error}", file=log)
            return {"error": f"{type(error).__name__}: {first_line(error)}"}


def train_and_score(run: Run) -> dict[str, Any]:
    settings = build(TrainSettings, run.settings)
    resume = (run.folder / checkpoint.CHECKPOINT).exists()
    Trainer(settings, resume=resume).run()
    images = generated_images(run.folder, run.evaluation["images"], run.seed, settings.device)
    scored_as = metrics.classifier_for(settings.dataset)  # mnist-10k is scored as MNIST
    classifier = metrics.load_classifier(scored_as)
    scores = metrics.evaluate(images, test_images(scored_as, settings.data_dir), classifier)
    return write_scores(run, scores | logged_means(run.folder / "tensorboard", CHAIN_FIGURES))


CHAIN_FIGURES = {"chain_break_fraction": "chain breaks", "mean_chain_length": "chain length"}


def logged_means(folder: Path, tags: Iterable[str]) -> dict[str, float | None]:
    """Each tag's mean over a run's iterations in its TensorBoard log, None where it was never
    logged (a sampler without chains). The last value logged at each iteration counts, so that
    the iterations a resumed run did again count once."""
    log = EventAccumulator(str(folder), size_guidance={SCALARS: 0})
    log.Reload()
    logged = set(log.Tags()[SCALARS])
    means = {}
    for tag in tags:
        by_iteration = (
            {event.step: event.value for event in log.Scalars(tag)} if tag in logged else {}
        )
        means[tag] = statistics.fmean(by_iteration.values()) if by_iteration else None
    return means


def fit_and_score(run: Run) -> dict[str, Any]:
    """A fit run from its start, its curve kept with its score: it takes seconds."""
    curve = fit.fit(build(FitSettings, run.settings))
    return write_scores(run, {"l1": curve[-1], "curve": curve})


def write_scores(run: Run, scores: dict[str, Any]) -> dict[str, Any]:
    written = run.folder / f"{SCORES_FILE}.partial"  # a kill never leaves half a file
    written.write_text(json.dumps({"run": scored_as_run(run), "scores": scores}, indent=1))
    written.replace(run.folder / SCORES_FILE)
    return scores


def saved_checkpoint_settings(run: Run) -> dict[str, Any] | None:
    """The settings of the training run in the run's folder, if one started there."""
    path = run.folder / checkpoint.CHECKPOINT
    return checkpoint.load(path)["config"] if path.exists() else None


def saved_fit_settings(run: Run) -> dict[str, Any] | None:
    """The settings of the fit run scored in the run's folder, if one was."""
    path = run.folder / SCORES_FILE
    return json.loads(path.read_text())["run"] if path.exists() else None


@dataclass(frozen=True)
class Kind:
    """What the runs of a spec's kind are: their settings, how one runs and is scored, the
    names of its scores in tables, and what a summary says of how runs were scored."""

    settings: type[Settings]
    run_and_score: Callable[[Run], dict[str, Any]]
    saved_settings: Callable[[Run], dict[str, Any] | None]
    scores: dict[str, str]
    scored: str  # formatted with the spec's [evaluate] table


KINDS = {
    "train": Kind(
        TrainSettings,
        train_and_score,
        saved_checkpoint_settings,
        {
            "inception_score": "IS",
            "fid": "FID",
            "smallest_share": "smallest class",
            "kl_to_uniform": "KL to uniform",
            **CHAIN_FIGURES,
        },
        "{images} generated images scored per run",
    ),
    "fit": Kind(
        FitSettings,
        fit_and_score,
        saved_fit_settings,
        {"l1": "L1"},
        "L1 (Eq. 13) of the model samples after the last update, against the exact data "
        "correlations",
    ),
}


@functools.cache
def test_images(dataset: str, data_dir: str | None) -> torch.Tensor:
    """The held-out images FID compares with, loaded once per worker."""
    test = data.load(dataset, data_dir, train=False)
    return test.batch(torch.arange(len(test)))


def thread_environment(threads: int) -> dict[str, str]:
    """The environment of a process that runs one run on `threads` cores, set before it starts:
    numba sizes its pool when imported, and its first parallel launch sets the process's OpenMP
    thread count, which torch follows, to that size (with a pool per core in every process, the
    processes' threads compete and runs slow down several-fold)."""
    return {"OMP_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}


# ---- engines: each yields (run, outcome) as runs finish ----------------------------------------


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """`workers` processes on this machine, each with its share of the cores (spawned: a forked
    torch can hang; they inherit the environment they are spawned in)."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    with (
        mock.patch.dict(os.environ, thread_environment(threads)),
        ProcessPoolExecutor(workers, mp_context=context) as pool,
    ):
        yield pool


def local_outcomes(runs: list[Run], workers: int) -> Iterator[tuple[Run, dict]]:
    """The runs on `worker_pool(workers)`."""
    with worker_pool(workers) as pool:
        futures = {pool.submit(run_one, run): run for run in runs}
        for future in as_completed(futures):
            error = future.exception()  # a worker that died, killed or out of memory
            outcome = {"error": f"worker died: {first_line(error)}"} if error else future.result()
            yield futures[future], outcome


def ray_outcomes(runs: list[Run], options: SweepSettings) -> Iterator[tuple[Run, dict]]:
    """Ray tasks on the cluster at `options.address`, or on a Ray started on this machine, each
    on the CPUs it reserves. The run folders must be on a file system every node shares."""
    try:
        import ray
    except ImportError:
        raise ConfigError("engine 'ray' needs Ray: pip install 'qaaan[ray]'") from None
    environment = {name: os.environ[name] for name in ("QAAAN_DATA",) if name in os.environ}
    environment |= thread_environment(max(1, int(options.cpus_per_run)))
    ray.init(
        address=options.address,
        runtime_env={"env_vars": environment},
        include_dashboard=False,
        log_to_driver=False,
    )
    try:
        task = ray.remote(num_cpus=options.cpus_per_run, num_gpus=options.gpus_per_run)(run_one)
        pending = {task.remote(run): run for run in runs}
        while pending:
            [ready], _ = ray.wait(list(pending))
            run = pending.pop(ready)
            try:
                outcome = ray.get(ready)
            except ray.exceptions.RayError as error:  # the task's worker or node died
                outcome = {"error": f"ray: {first_line(error)}"}
            yield run, outcome
    finally:
        ray.shutdown()


# ---- the sweep ------------------------------------------------------------------------------


def sweep(spec: SweepSpec, options: SweepSettings, out: Path) -> dict[str, Any]:
    """Runs every run of `spec` not scored yet, then writes the summary; returns it."""
    checkpoint.check_folder(out)
    the_plan = plan(spec, out)
    check_folders(the_plan.runs)
    out.mkdir(parents=True, exist_ok=True)
    scores = {(run.point, run.seed): read_scores(run) for run in the_plan.runs}
    chosen = chosen_points(the_plan, options.only)
    wanted = [run for run in the_plan.runs if run.point in chosen]
    todo = [run for run in wanted if scores[run.point, run.seed] is None]
    failed = []
    progress = tqdm(total=len(wanted), initial=len(wanted) - len(todo), desc="runs")
    slots = options.workers if options.engine == "local" else len(todo)
    progress.set_postfix(running=min(slots, len(todo)), failed=0)
    if todo:
        engine = (
            local_outcomes(todo, options.workers)
            if options.engine == "local"
            else ray_outcomes(todo, options)
        )
        for finished, (run, outcome) in enumerate(engine, start=1):
            if "error" in outcome:
                failed.append({"point": run.point, "seed": run.seed, "error": outcome["error"]})
                tqdm.write(f"{run.point} seed {run.seed} failed: {outcome['error']}")
            scores[run.point, run.seed] = outcome.get("scores")
            progress.update(1)
            progress.set_postfix(running=min(slots, len(todo) - finished), failed=len(failed))
    progress.close()
    summary = summarise(spec, the_plan, scores, failed)
    write_summary(summary, out)
    return summary


def scored_as_run(run: Run) -> dict[str, Any]:
    """What a run's scores depend on: its settings and how it is scored."""
    return {**run.settings, **run.evaluation}


def chosen_points(the_plan: Plan, only: str | None) -> list[str]:
    """The points whose names match `--only` (all by default)."""
    chosen = fnmatch.filter(the_plan.points, only or "*")
    if not chosen:
        raise ConfigError(f"only = {only!r} matches no point; points: {', '.join(the_plan.points)}")
    return chosen


def read_scores(run: Run) -> dict[str, Any] | None:
    """The run's scores, if it was scored as it is now: not before `iterations` was raised, nor
    by a version that did not yet measure one of its kind's scores."""
    path = run.folder / SCORES_FILE
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    complete = set(KINDS[run.kind].scores) <= set(saved["scores"])
    return saved["scores"] if complete and saved.get("run") == scored_as_run(run) else None


def summarise(
    spec: SweepSpec, the_plan: Plan, scores: dict[tuple[str, int], dict | None], failed: list
) -> dict[str, Any]:
    """Each point's scores over its seeds and, beside the baseline, Welch's test against it."""
    rows = {
        name: [{"seed": seed, **scores[name, seed]} for seed in spec.seeds if scores[name, seed]]
        for name in the_plan.points
    }
    baseline = rows[the_plan.baseline] if the_plan.baseline else []
    points = {}
    for name, values in the_plan.points.items():
        summary: dict[str, Any] = {"settings": values, "n": len(rows[name]), "scores": {}}
        for score in KINDS[spec.kind].scores:
            figures = measured(rows[name], score)
            if not figures:  # no run, or a score these runs do not have (chains, without a QPU)
                continue
            summary["scores"][score] = comparison.summarise(figures)
            if baseline and name != the_plan.baseline:
                summary["scores"][score] |= comparison.against(figures, measured(baseline, score))
        points[name] = summary
    return {
        "spec": spec.model_dump(),
        "baseline": the_plan.baseline,
        "points": points,
        "runs": rows,
        "skipped": the_plan.skipped,
        "failed": failed,
    }


def measured(rows: list[dict[str, Any]], score: str) -> list[float]:
    """The runs' figures of `score`, leaving out the runs that do not measure it."""
    return [row[score] for row in rows if row.get(score) is not None]


def scores_measured(summary: dict[str, Any]) -> dict[str, str]:
    """The scores (name: title) of the summary's kind that some point measured."""
    scores = KINDS[summary["spec"]["kind"]].scores
    points = summary["points"].values()
    return {
        name: title for name, title in scores.items() if any(name in p["scores"] for p in points)
    }


def write_summary(summary: dict[str, Any], out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(comparison.json_safe(summary), indent=1))
    (out / "summary.md").write_text(markdown(summary))
    if any(point["n"] for point in summary["points"].values()):
        plot(summary, out / "summary.png")


def markdown(summary: dict[str, Any]) -> str:
    """The tables of summary.md: scores over the seeds, then each point against the baseline."""
    spec = summary["spec"]
    kind, scores = KINDS[spec["kind"]], scores_measured(summary)
    base = ", ".join(f"{key} {value}" for key, value in spec["base"].items()) or "defaults"
    lines = [
        f"Seeds {', '.join(map(str, spec['seeds']))}; every run: {base}; "
        f"{kind.scored.format(**spec['evaluate'])}. Mean ± std over the seeds, "
        "95% interval of the mean in brackets.",
        "",
        "| point | n | " + " | ".join(scores.values()) + " |",
        "|---|---|" + "---|" * len(scores),
    ]
    for name, point in summary["points"].items():
        cells = [score_cell(point["scores"].get(score)) for score in scores]
        lines.append(f"| {name} | {point['n']} | " + " | ".join(cells) + " |")
    first = next(iter(kind.scores))
    compared = {
        n: p for n, p in summary["points"].items() if "p_value" in p["scores"].get(first, {})
    }
    if compared:
        lines += [
            "",
            f"Against {summary['baseline']} (Welch's t test over the seeds: Cohen's d, "
            "two-sided p; no correction for the number of tests):",
            "",
            "| point | " + " | ".join(scores.values()) + " |",
            "|---|" + "---|" * len(scores),
        ]
        for name, point in compared.items():
            cells = [effect_cell(point["scores"].get(score)) for score in scores]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for title, entries in (("Skipped", summary["skipped"]), ("Failed", summary["failed"])):
        if entries:
            lines += ["", f"{title}:", ""]
            lines += [
                f"- {entry['point']}"
                + (f" seed {entry['seed']}" if "seed" in entry else "")
                + f": {entry.get('reason') or entry.get('error')}"
                for entry in entries
            ]
    return "\n".join(lines) + "\n"


def effect_cell(summary: dict | None) -> str:
    return comparison.effect_and_p(summary) if summary is not None else "–"


def score_cell(summary: dict | None) -> str:
    if summary is None:
        return "–"
    low, high = summary["ci95"]
    interval = "" if low != low or low == high else f" [{low:.3f}, {high:.3f}]"  # NaN: one seed
    return comparison.mean_and_std(summary) + interval


def plot(summary: dict[str, Any], path: Path) -> None:
    """One panel per score: every point's mean with its 95% interval, the baseline in orange,
    and each run's value as a grey dot; a panel spans the runs' values (on a log scale where
    they are positive and spread over more than a factor 10), so that one run far astray does
    not squeeze the others. For runs that keep their curve (fit runs), a last panel of the
    curves' means over the seeds (paper Figs. 6-7)."""
    scores = scores_measured(summary)
    names = [name for name, point in summary["points"].items() if point["n"]]
    curves = {
        name: [row["curve"] for row in summary["runs"][name]]
        for name in names
        if "curve" in summary["runs"][name][0]
    }
    panels = len(scores) + bool(curves)
    figure = Figure(figsize=(4 * len(scores) + 5 * bool(curves), 1.2 + 0.35 * max(len(names), 8)))
    axes = figure.subplots(1, panels, squeeze=False)[0]
    for axis, (score, title) in zip(axes, scores.items(), strict=False):
        spanned: list[float] = []
        for row, name in enumerate(names):
            figures = summary["points"][name]["scores"].get(score)
            if figures is None:
                continue
            low, high = figures["ci95"]
            error = [[figures["mean"] - low], [high - figures["mean"]]] if low == low else None
            colour = "tab:orange" if name == summary["baseline"] else "tab:blue"
            axis.errorbar(figures["mean"], row, xerr=error, fmt="o", color=colour, capsize=3)
            values = measured(summary["runs"].get(name, []), score)
            axis.plot(values, [row + 0.2] * len(values), ".", color="grey", markersize=4)
            spanned += values
        span_the_runs(axis, spanned)
        axis.set(title=title, yticks=range(len(names)), ylim=(-0.5, len(names) - 0.5))
        axis.set_yticklabels(names if axis is axes[0] else [], fontsize=7)
        axis.grid(axis="x", alpha=0.3)
    if curves:
        plot_curves(axes[-1], curves, title=f"{next(iter(scores.values()))} against updates")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def span_the_runs(axis: Any, values: list[float]) -> None:
    """The panel's x range: the runs' values with a margin, on a log scale where they are all
    positive and spread over more than a factor 10."""
    if not values:
        return
    low, high = min(values), max(values)
    if low > 0 and high > 10 * low:
        axis.set_xscale("log")
        axis.set_xlim(low / 1.3, high * 1.3)
        return
    margin = 0.1 * (high - low) or 0.1 * abs(high) or 0.1
    axis.set_xlim(low - margin, high + margin)


def plot_curves(axis: Any, curves: dict[str, list[list[float]]], title: str) -> None:
    """Each point's curve: the mean over its seeds, with a band of one std."""
    for name, runs in curves.items():
        values = torch.tensor([run[: min(map(len, runs))] for run in runs])
        mean = values.mean(dim=0)
        std = values.std(dim=0) if len(runs) > 1 else torch.zeros_like(mean)
        steps = torch.arange(len(mean))
        axis.plot(steps, mean, label=name, linewidth=1)
        axis.fill_between(steps, mean - std, mean + std, alpha=0.2)
    axis.set(title=title, xlabel="update", yscale="log")
    axis.legend(fontsize=6)
