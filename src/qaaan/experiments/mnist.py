"""MNIST, classical against quantum-assisted (paper section 7): the same budget for every prior.

Trains the `uniform` prior DCGAN baseline and the `bm` prior (a 100-node Chimera latent graph,
as the paper's sparse latent space) sampled by `gibbs` (the classical associative adversarial
network), by `sqa` and by `mock-dwave` (the offline QPU path), each with several seeds and the
same iterations, batch and networks; then scores 10,000 generated images of every run with
`qaaan.metrics` (IS, FID against the test set, mode coverage), printing each run's scores as
they come, and writes the table (mean ± std over seeds) and the sample grids side by side. Runs
already in the output folder are resumed or, when complete, only evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from matplotlib.figure import Figure
from tqdm import tqdm

from qaaan import checkpoint, comparison, data, metrics
from qaaan.errors import ConfigError, validate
from qaaan.generation import generated_images
from qaaan.loop import Trainer
from qaaan.settings import MNIST_VARIANTS as VARIANTS
from qaaan.settings import SHARED_WITH_TRAIN, MnistSettings, TrainSettings, build, resumed

SCORES = ("inception_score", "fid", "kl_to_uniform", "smallest_share")
BASELINE = "uniform"  # the prior every other is compared with


def train_one(config: MnistSettings, variant: str, seed: int) -> Path:
    """Trains (or resumes, or keeps) one run; returns its directory."""
    out = Path(config.out) / variant / f"seed{seed}"
    shared = config.model_dump(include={*SHARED_WITH_TRAIN, "dataset"})
    values = {**shared, "seed": seed, "out": str(out)}
    settings = build(TrainSettings, values, VARIANTS[variant])
    path = out / checkpoint.CHECKPOINT
    if path.exists():
        state = checkpoint.load(path)
        try:
            resumed(TrainSettings, state["config"], settings.public())
        except ConfigError as error:
            raise ConfigError(f"{str(out)!r} holds a run with other settings ({error})") from None
        if state["iteration"] >= config.iterations:
            return out
    Trainer(settings, resume=path.exists()).run()
    return out


def run(config: MnistSettings) -> dict:
    """Trains and scores every variant and seed; writes the table."""
    classifier = metrics.load_classifier("mnist")
    test = data.load("mnist", config.data_dir, train=False)
    reference = test.batch(torch.arange(len(test)))
    results, grids = {}, {}
    for variant in config.variants:
        results[variant] = []
        for seed in config.seeds:
            run_dir = train_one(config, variant, seed)
            images = generated_images(run_dir, config.evaluate_n, seed, config.device)
            scores = metrics.evaluate(images, reference, classifier)
            tqdm.write(
                f"{variant} seed {seed}: IS {scores['inception_score']:.2f}, "
                f"FID {scores['fid']:.1f}, smallest class {scores['smallest_share']:.1%}"
            )
            results[variant].append({"seed": seed, **scores})
            grids.setdefault(variant, images[:64])
    return write_results(config, results, grids)


def write_results(
    config: MnistSettings, results: dict[str, list[dict]], grids: dict[str, torch.Tensor]
) -> dict:
    """Writes results.json, results.md (mean ± std over seeds, each prior against uniform) and,
    given images, grids.png."""
    baseline = results.get(BASELINE)
    summary = {
        variant: summarise_variant(rows, baseline if variant != BASELINE else None)
        for variant, rows in results.items()
    }
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    written = {"config": config.model_dump(), "summary": summary, "runs": results}
    (out / "results.json").write_text(json.dumps(comparison.json_safe(written), indent=1))
    (out / "results.md").write_text(markdown_table(summary, config))
    if grids:
        side_by_side(grids, out / "grids.png")
    return summary


def summarise_variant(rows: list[dict], baseline: list[dict] | None) -> dict[str, dict]:
    """Each score over the seeds and, beside a baseline of other runs, Welch's test against it."""
    summary = {}
    for score in SCORES:
        values = [row[score] for row in rows]
        summary[score] = comparison.summarise(values)
        if baseline is not None:
            summary[score] |= comparison.against(values, [row[score] for row in baseline])
    return summary


# settings that may differ between the parts of one table: where and on what they ran
PER_MACHINE = ("variants", "seeds", "out", "device", "data_dir")


def merge(paths: list[Path], out: Path) -> dict:
    """Joins results.json files of the same settings on other seeds or variants into one table.

    For seeds (or priors) run on several machines or in several sessions: every part must have
    the same budget and networks, no (variant, seed) may appear twice, and every variant must
    end with the same seeds, as a table compares priors on equal seeds. Writes results.json and
    results.md to `out` (not grids: the parts keep only scores).
    """
    if not paths:
        raise ConfigError("merge needs at least one results.json")
    parts = [read_results(path) for path in paths]
    if any((out / "results.json").resolve() == path.resolve() for path in paths):
        raise ConfigError(f"--out {str(out)!r} holds one of the inputs; choose another folder")
    first = parts[0]["config"]
    runs: dict[str, dict[int, dict]] = {}
    for path, part in zip(paths, parts, strict=True):
        differing = [
            f"{key} {part['config'][key]!r} where {paths[0]} has {value!r}"
            for key, value in first.items()
            if key not in PER_MACHINE and part["config"][key] != value
        ]
        if differing:
            raise ConfigError(f"{path} has other settings: {'; '.join(differing)}")
        for variant, rows in part["runs"].items():
            for row in rows:
                if row["seed"] in runs.setdefault(variant, {}):
                    raise ConfigError(f"{variant} seed {row['seed']} is in two inputs")
                runs[variant][row["seed"]] = row
    seeds = {variant: sorted(by_seed) for variant, by_seed in runs.items()}
    if len({tuple(s) for s in seeds.values()}) > 1:
        listed = "; ".join(f"{v}: {', '.join(map(str, s))}" for v, s in seeds.items())
        raise ConfigError(f"every prior needs the same seeds to compare, got {listed}")
    variants = sorted(runs, key=list(VARIANTS).index)
    config = validate(
        MnistSettings, {**first, "variants": variants, "seeds": seeds[variants[0]], "out": str(out)}
    )
    results = {variant: [runs[variant][seed] for seed in config.seeds] for variant in variants}
    return write_results(config, results, grids={})


def read_results(path: Path) -> dict:
    """One results.json written by `qaaan experiment mnist`."""
    try:
        part = json.loads(path.read_text())
        missing = set(MnistSettings.model_fields) - set(part["config"])
        if missing:
            raise ValueError(f"its config lacks {', '.join(sorted(missing))}")
        validate(MnistSettings, part["config"])
        rows = [row for variant in part["runs"] for row in part["runs"][variant]]
        if not rows or not set(part["runs"]) <= set(VARIANTS):
            raise ValueError(f"runs of {', '.join(part['runs']) or 'no prior'}")
        for row in rows:
            if not isinstance(row["seed"], int) or isinstance(row["seed"], bool):
                raise ValueError(f"a run's seed is {row['seed']!r}")
            for score in SCORES:
                if not isinstance(row[score], int | float):
                    raise ValueError(f"seed {row['seed']}'s {score} is {row[score]!r}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(
            f"{str(path)!r} is not a results.json of `qaaan experiment mnist` ({error})"
        ) from None
    return part


def markdown_table(summary: dict, config: MnistSettings) -> str:
    lines = [
        f"seeds {', '.join(map(str, config.seeds))}; {config.iterations} iterations, "
        f"batch {config.batch_size}, "
        f"width {config.width}, {'refined' if config.refine else 'paper'} generator, "
        f"{f'weight average {config.ema}' if config.ema else 'no weight average'}, "
        f"{config.evaluate_n} images scored per run (mean ± std over seeds)",
        "",
        *score_rows(summary, comparison.mean_and_std),
    ]
    compared = {
        variant: scores for variant, scores in summary.items() if "p_value" in scores["fid"]
    }
    if compared:
        lines += [
            "",
            f"Against {BASELINE} (Welch's t test over the seeds: Cohen's d, two-sided p):",
            "",
            *score_rows(compared, comparison.effect_and_p),
        ]
    return "\n".join(lines) + "\n"


def score_rows(summary: dict, cell: Callable[[dict], str]) -> list[str]:
    """A Markdown table of one row per prior, `cell` writing each score's figures."""
    rows = ["| prior | IS | FID | KL to uniform | smallest class |", "|---|---|---|---|---|"]
    for variant, scores in summary.items():
        rows.append(f"| {variant} | " + " | ".join(cell(scores[s]) for s in SCORES) + " |")
    return rows


def side_by_side(grids: dict[str, torch.Tensor], path: Path) -> None:
    """The first seed's 64 images of every variant, one 8x8 panel each."""
    figure = Figure(figsize=(3 * len(grids), 3.3))
    axes = figure.subplots(1, len(grids), squeeze=False)[0]
    for axis, (variant, images) in zip(axes, grids.items(), strict=True):
        tiles = (images[:64, 0] + 1) / 2
        mosaic = tiles.reshape(8, 8, 28, 28).permute(0, 2, 1, 3).reshape(8 * 28, 8 * 28)
        axis.imshow(mosaic.numpy(), cmap="gray", vmin=0, vmax=1)
        axis.set_title(variant)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
