"""Wall time until a training run's weight average reaches an Inception Score, per contender.

Every contender trains from scratch on the probe seed (100, outside every reported table) with
the settings of the MNIST table (`experiments/mnist_ema.toml`: full MNIST, width 32, weight
average 0.999, batch 64) and its own changes, for the `gibbs` Boltzmann prior and for uniform
noise. Every `--every` iterations the run is checkpointed and its weight average scored on
10,000 images by the project's evaluator, off the clock; a run stops at IS >= `--target` or at
`--max-iterations`. Reported: training seconds and iterations to the target, seconds per
iteration, and the scores where it stopped.

Each run is a normal training run in OUT/<prior>/<contender> (view its grids and logs as any
run's); its clock and scores are in progress.json beside the checkpoint, so the script can be
killed at any moment and run again to go on.

    python benchmarks/time_to_quality.py --out runs/time_to_quality
    python benchmarks/time_to_quality.py --contenders today bfloat16 --priors gibbs

writes benchmarks/results/time_to_quality.json and prints a table (and with --plot, IS against
training seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from matplotlib.figure import Figure
from samplers import cpu_name

from qaaan import checkpoint, metrics
from qaaan.generation import generated_images
from qaaan.loop import Trainer
from qaaan.settings import TrainSettings
from qaaan.sweep import test_images

PROBE_SEED = 100
TABLE = {"dataset": "mnist", "width": 32, "ema": 0.999, "batch_size": 64, "device": "cpu"}
PRIORS = {"gibbs": {"prior": "bm", "sampler": "gibbs"}, "uniform": {"prior": "uniform"}}
FAST = {"precision": "bfloat16", "channels_last": True}
CONTENDERS = {
    "today": {},
    "bfloat16": {"precision": "bfloat16"},
    "bfloat16, channels-last": FAST,
    "bfloat16, compiled": {"precision": "bfloat16", "compile": True},
    "bfloat16, batch 128, lr 0.0004": {"precision": "bfloat16", "batch_size": 128, "lr": 0.0004},
    "bfloat16, channels-last, batch 128": FAST | {"batch_size": 128},
    "bfloat16, channels-last, batch 128, lr 0.0004": FAST | {"batch_size": 128, "lr": 0.0004},
}
SCORED_IMAGES = 10_000


def folder_name(label: str) -> str:
    return label.replace(", ", "_").replace(" ", "-")


def read_progress(folder: Path, iteration: int) -> list[dict]:
    """The entries of progress.json up to `iteration`, where the checkpoint stands (an entry
    written after the last checkpoint that landed is dropped: its iterations run again)."""
    path = folder / "progress.json"
    entries = json.loads(path.read_text()) if path.exists() else []
    return [entry for entry in entries if entry["iteration"] <= iteration]


def write_progress(folder: Path, entries: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "progress.json.tmp"
    temporary.write_text(json.dumps(entries, indent=1))
    os.replace(temporary, folder / "progress.json")


def score(folder: Path, reference: torch.Tensor, classifier: metrics.Classifier) -> dict:
    images = generated_images(folder, SCORED_IMAGES, PROBE_SEED, "cpu")
    scores = metrics.evaluate(images, reference, classifier)
    return {"inception_score": scores["inception_score"], "fid": scores["fid"]}


def train_to_target(settings: TrainSettings, args, reference, classifier) -> list[dict]:
    """Trains in `every`-iteration segments, each timed, then checkpointed, then scored; stops at
    the target or the iteration budget; the progress entries."""
    folder = Path(settings.out)
    resume = (folder / checkpoint.CHECKPOINT).exists()
    trainer = Trainer(settings, resume=resume)
    entries = read_progress(folder, trainer.iteration)
    while True:
        if entries and "inception_score" not in entries[-1]:
            entries[-1] |= score(folder, reference, classifier)
            write_progress(folder, entries)
            print(f"  {entries[-1]}", flush=True)
        if entries and (entries[-1]["inception_score"] >= args.target or
                        trainer.iteration >= args.max_iterations):  # fmt: skip
            return entries
        seconds = entries[-1]["seconds"] if entries else 0.0
        started = time.perf_counter()
        for _ in range(args.every):
            trainer.step()
            trainer.iteration += 1
        seconds += time.perf_counter() - started
        # the clock first, then the checkpoint it belongs to: a kill between them drops the entry
        write_progress(folder, [*entries, {"iteration": trainer.iteration, "seconds": seconds}])
        trainer.checkpoint()
        entries = read_progress(folder, trainer.iteration)


def summary_row(prior: str, label: str, entries: list[dict], target: float) -> dict:
    reached = next((e for e in entries if e["inception_score"] >= target), None)
    last = entries[-1]
    return {
        "prior": prior,
        "contender": label,
        "seconds_to_target": reached["seconds"] if reached else None,
        "iterations_to_target": reached["iteration"] if reached else None,
        "seconds_per_iteration": last["seconds"] / last["iteration"],
        "last_iteration": last["iteration"],
        "inception_score": last["inception_score"],
        "fid": last["fid"],
        "scores": entries,
    }


def plot(rows: list[dict], target: float, path: Path) -> None:
    """Each contender's weight-average IS against training seconds, a panel per prior."""
    priors = sorted({row["prior"] for row in rows})
    figure = Figure(figsize=(5.5 * len(priors), 4))
    axes = figure.subplots(1, len(priors), squeeze=False)
    for axis, prior in zip(axes[0], priors, strict=True):
        for row in (row for row in rows if row["prior"] == prior):
            scores = row["scores"]
            axis.plot([e["seconds"] for e in scores], [e["inception_score"] for e in scores],
                      marker=".", label=row["contender"])  # fmt: skip
        axis.axhline(target, color="grey", linestyle="--", linewidth=0.8)
        axis.set(
            title=prior, xlabel="training seconds", ylabel="IS (weight average)", ylim=(8, 9.2)
        )
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/time_to_quality"))
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=["today"])
    parser.add_argument("--priors", nargs="+", choices=list(PRIORS), default=list(PRIORS))
    parser.add_argument("--target", type=float, default=9.0, help="Inception Score to reach")
    parser.add_argument("--every", type=int, default=1000, help="iterations between scores")
    parser.add_argument("--max-iterations", type=int, default=20000)
    parser.add_argument("--data-dir", help="default: $QAAAN_DATA")
    parser.add_argument(
        "--json", type=Path, default=Path(__file__).parent / "results/time_to_quality.json"
    )
    parser.add_argument("--plot", type=Path, help="also plot IS against time, e.g. curves.png")
    args = parser.parse_args()
    classifier = metrics.load_classifier("mnist")
    reference = test_images("mnist", args.data_dir)
    rows = []
    for prior in args.priors:
        for label in args.contenders:
            print(f"{prior}, {label}", flush=True)
            values = TABLE | PRIORS[prior] | CONTENDERS[label]
            folder = args.out / prior / folder_name(label)
            settings = TrainSettings(
                **values, seed=PROBE_SEED, iterations=args.max_iterations, out=str(folder),
                data_dir=args.data_dir, checkpoint_every=args.every,
            )  # fmt: skip
            entries = train_to_target(settings, args, reference, classifier)
            rows.append(summary_row(prior, label, entries, args.target))
    print(
        f"{'prior':8} {'contender':32} {'s to IS':>8} {'its':>6} {'s/it':>7} {'IS':>6} {'FID':>6}"
    )
    for row in rows:
        to_target = row["seconds_to_target"]
        print(
            f"{row['prior']:8} {row['contender']:32} "
            f"{'-' if to_target is None else f'{to_target:.0f}':>8} "
            f"{row['iterations_to_target'] or '-':>6} {row['seconds_per_iteration']:>7.4f} "
            f"{row['inception_score']:>6.3f} {row['fid']:>6.2f}"
        )
    machine = {"cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__}
    result = {"machine": machine, "target": args.target, "settings": TABLE, "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"written {args.json}")
    if args.plot:
        plot(rows, args.target, args.plot)
        print(f"written {args.plot}")


if __name__ == "__main__":
    main()
