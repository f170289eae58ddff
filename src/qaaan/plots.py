"""Plots people look at: training curves from a run's TensorBoard logs, and class histograms."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from qaaan.errors import ConfigError

CURVES = (
    ("losses", ("loss_d", "loss_g")),
    ("L1 (Eq. 13) of the latent machine", ("l1",)),
    ("effective beta", ("beta_eff",)),
    ("share of time sampling, so far", ("sampling_share",)),
)


def read_scalars(run: Path) -> dict[str, tuple[list[int], list[float]]]:
    """Every scalar a training run logged: name -> (iterations, values)."""
    logs = Path(run) / "tensorboard"
    if not logs.is_dir():
        raise ConfigError(f"no TensorBoard logs in {str(logs)!r}: is this a qaaan training run?")
    events = EventAccumulator(str(logs), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: ([e.step for e in events.Scalars(tag)], [e.value for e in events.Scalars(tag)])
        for tag in events.Tags()["scalars"]
    }


def training_curves(run: Path, path: Path) -> Path:
    """One panel per logged quantity of `CURVES` that the run has."""
    scalars = read_scalars(run)
    panels = [(title, [t for t in tags if t in scalars]) for title, tags in CURVES]
    panels = [(title, tags) for title, tags in panels if tags]
    figure = Figure(figsize=(4.5 * len(panels), 3.5))
    for axis, (title, tags) in zip(
        figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True
    ):
        for tag in tags:
            steps, values = scalars[tag]
            axis.plot(steps, values, label=tag, linewidth=0.8)
        axis.set(title=title, xlabel="iteration")
        if len(tags) > 1:
            axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def class_histogram(shares: list[float], path: Path, title: str) -> Path:
    """Bars of the share of generated images per predicted class, with the uniform 10% line."""
    figure = Figure(figsize=(5, 3.2))
    axis = figure.subplots()
    axis.bar(range(len(shares)), shares, color="tab:blue")
    axis.axhline(1 / len(shares), color="gray", linestyle="--", linewidth=1, label="uniform")
    axis.set(title=title, xlabel="predicted class", ylabel="share", xticks=range(len(shares)))
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path
