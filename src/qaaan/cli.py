"""The `qaaan` command.

Every command builds one configuration dataclass (defaults, then ``--config FILE``, then the
options given) and turns bad input into a one-line message and exit code 2 (`one_line_errors`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from qaaan import samplers, topology
from qaaan.bm import correlation_matrix, random_machine, spin_means
from qaaan.config import build, parse_option, read_file, resolve_device
from qaaan.errors import ConfigError, check_positive_int, check_seed, first_line
from qaaan.samplers.exact import MAX_NODES, exact_moments

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Bad input (`ConfigError`) or an unusable path (`OSError`, e.g. --out naming a file):
    one line on stderr and exit code 2, instead of a traceback."""
    try:
        yield
    except (ConfigError, OSError) as error:
        message = str(error)
        if isinstance(error, OSError) and error.filename is not None:
            message = f"cannot use {str(error.filename)!r}: {error.strerror or first_line(error)}"
        Console(stderr=True).print(f"error: {message}", markup=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def file_to_write(path: Path) -> Path:
    """Fails before the work, not after it, when `path` cannot be written as a file."""
    if path.is_dir():
        raise ConfigError(f"{str(path)!r} is a folder; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def comma_list(text: str | None) -> list[str] | None:
    """'a, b,c' -> ['a', 'b', 'c']; None (option not given) stays None."""
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def int_or_text(text: str) -> int | str:
    """'3' -> 3; anything else is kept, for the config check to name it."""
    try:
        return int(text)
    except ValueError:
        return text


@dataclasses.dataclass
class SampleBMConfig:
    """`qaaan sample-bm`: sample a random Boltzmann machine and check the samples."""

    topology: str = "chimera"
    nodes: int = 100
    sampler: str = "gibbs"
    sampler_options: dict = dataclasses.field(default_factory=dict)
    reads: int = 1000
    calls: int = 20
    h_scale: float = 0.5
    j_scale: float = 0.3
    seed: int = 0
    device: str = "auto"


def _moment_deviation(spins: torch.Tensor, bm, beta: float) -> float:
    means, correlations = exact_moments(bm, beta)
    spins = spins.double().cpu()
    return max(
        (spin_means(spins) - means).abs().max().item(),
        (correlation_matrix(spins) - correlations).abs().max().item(),
    )


def run_sample_bm(config: SampleBMConfig) -> dict[str, Any]:
    """Samples a random machine `calls` times and returns what it measured."""
    if not isinstance(config.sampler_options, dict):
        raise ConfigError(f"sampler_options must be a mapping, got {config.sampler_options!r}")
    check_positive_int("calls", config.calls)
    check_seed(config.seed)
    for name in ("h_scale", "j_scale"):
        if not 0 <= getattr(config, name) < float("inf"):
            raise ConfigError(f"{name} must be a finite number >= 0, got {getattr(config, name)!r}")
    device = resolve_device(config.device)
    graph = topology.make(config.topology, config.nodes)
    bm = random_machine(graph, config.seed, config.h_scale, config.j_scale).to(device)
    sampler = samplers.make(config.sampler, **config.sampler_options)
    draws, seconds = [], []
    for _ in track(range(config.calls), description=f"sampling with {config.sampler}"):
        start = time.perf_counter()
        draws.append(sampler.sample(bm, config.reads))
        seconds.append(time.perf_counter() - start)
    spins = torch.cat(draws)
    result = {
        "graph": f"{config.topology}({config.nodes}), {bm.edges.shape[0]} edges",
        "sampler": config.sampler,
        "samples": spins.shape[0],
        "first call (s)": round(seconds[0], 4),
        "later calls (s, mean)": round(sum(seconds[1:]) / max(1, len(seconds) - 1), 4),
        "mean energy": round(bm.energy(spins).mean().item(), 4),
        "mean |<z_i>|": round(spin_means(spins).abs().mean().item(), 4),
    }
    result.update({k: v for k, v in sampler.info.items() if isinstance(v, int | float | str)})
    if config.nodes <= MAX_NODES:
        beta = float(config.sampler_options.get("beta", 1.0))
        result["max |moment - exact|"] = round(_moment_deviation(spins, bm, beta), 4)
    return result


@app.command("sample-bm")
def sample_bm(
    topology_name: Annotated[
        str | None, typer.Option("--topology", help="complete|bipartite|chimera|pegasus|zephyr")
    ] = None,
    nodes: Annotated[int | None, typer.Option(help="number of nodes N")] = None,
    sampler: Annotated[str | None, typer.Option(help="a name from `qaaan samplers`")] = None,
    sampler_option: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE, repeatable: the sampler's options")
    ] = None,
    reads: Annotated[int | None, typer.Option(help="samples per call")] = None,
    calls: Annotated[int | None, typer.Option(help="number of sample calls")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the random machine")] = None,
    device: Annotated[str | None, typer.Option(help="auto|cpu|cuda")] = None,
    config: Annotated[
        Path | None, typer.Option(help="a .toml or .yaml file of these options")
    ] = None,
) -> None:
    """Sample a random Boltzmann machine; for N <= 20, compare with exact enumeration."""
    with one_line_errors():
        options = dict(parse_option(text) for text in sampler_option) if sampler_option else None
        settings = build(
            SampleBMConfig,
            config,
            {
                "topology": topology_name,
                "nodes": nodes,
                "sampler": sampler,
                "sampler_options": options,
                "reads": reads,
                "calls": calls,
                "seed": seed,
                "device": device,
            },
        )
        result = run_sample_bm(settings)
    table = Table("quantity", "value", title="qaaan sample-bm")
    for key, value in result.items():
        table.add_row(key, str(value))
    console.print(table)


@app.command("samplers")
def list_samplers() -> None:
    """List the registered samplers and their options."""
    table = Table("name", "options", title="samplers")
    for name in samplers.available():
        table.add_row(name, ", ".join(samplers.option_names(name)))
    console.print(table)


# the networks' options, shared by `train` and `experiment mnist`
WidthOption = Annotated[
    int | None, typer.Option(help="channels of D's first convolution (G mirrors it)")
]
RefineOption = Annotated[
    bool | None,
    typer.Option("--refine/--no-refine", help="generator refinement layers (off: the paper's)"),
]
EmaOption = Annotated[
    float | None,
    typer.Option(help="decay of the generator's weight average, e.g. 0.999 (0: off, the paper's)"),
]


@app.command("train")
def train(
    dataset: Annotated[
        str | None, typer.Option(help="mnist|mnist-10k|fashion-mnist|folder|lsun")
    ] = None,
    data_dir: Annotated[str | None, typer.Option(help="data directory (else $QAAAN_DATA)")] = None,
    prior: Annotated[str | None, typer.Option(help="bm|uniform|normal")] = None,
    topology_name: Annotated[
        str | None, typer.Option("--topology", help="latent graph of the bm prior")
    ] = None,
    latent: Annotated[int | None, typer.Option(help="latent size (default 100)")] = None,
    sampler: Annotated[str | None, typer.Option(help="a name from `qaaan samplers`")] = None,
    sampler_option: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE, repeatable: the sampler's options")
    ] = None,
    bm_lr: Annotated[float | None, typer.Option(help="the machine's learning rate")] = None,
    bm_samples: Annotated[int | None, typer.Option(help="model samples per update")] = None,
    bm_reads: Annotated[
        str | None, typer.Option(help="under torchrun: auto|broadcast|split the machine's reads")
    ] = None,
    iterations: Annotated[int | None, typer.Option(help="total iterations of the run")] = None,
    epochs: Annotated[int | None, typer.Option(help="total epochs (instead of iterations)")] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    width: WidthOption = None,
    refine: RefineOption = None,
    ema: EmaOption = None,
    seed: Annotated[int | None, typer.Option()] = None,
    device: Annotated[str | None, typer.Option(help="auto|cpu|cuda")] = None,
    out: Annotated[str | None, typer.Option(help="run directory")] = None,
    resume: Annotated[bool, typer.Option(help="continue the run in --out")] = False,
    config: Annotated[Path | None, typer.Option(help="a .toml or .yaml file of options")] = None,
    preset: Annotated[str | None, typer.Option(help="quick: a few minutes on a CPU")] = None,
) -> None:
    """Train the associative adversarial network (paper Fig. 3).

    With --resume the run's saved settings are used; only its length (--iterations/--epochs),
    the device and the logging intervals may change.
    """
    from qaaan.train import PRESETS, TrainConfig, Trainer, resume_config

    with one_line_errors():
        if preset is not None and preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; allowed: {', '.join(PRESETS)}")
        options = dict(parse_option(text) for text in sampler_option) if sampler_option else None
        cli_values = {
            "dataset": dataset, "data_dir": data_dir, "prior": prior,
            "topology": topology_name, "latent": latent, "sampler": sampler,
            "sampler_options": options, "bm_lr": bm_lr, "bm_samples": bm_samples,
            "bm_reads": bm_reads,
            "iterations": iterations, "epochs": epochs, "batch_size": batch_size,
            "width": width, "refine": refine, "ema": ema, "seed": seed, "device": device,
            "out": out,
        }  # fmt: skip
        if resume:
            changes = read_file(config) if config is not None else {}
            changes.update({k: v for k, v in cli_values.items() if v is not None})
            settings = resume_config(Path(out or TrainConfig.out), changes)
        else:
            settings = build(TrainConfig, config, cli_values, PRESETS.get(preset))
        result = Trainer(settings, resume=resume).run()
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun, rank 0 reports
    table = Table("quantity", "value", title=f"qaaan train -> {settings.out}")
    for key, value in result.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)


@app.command("sample")
def sample(
    checkpoint: Annotated[Path, typer.Option(help="a run directory written by `qaaan train`")],
    n: Annotated[int, typer.Option("-n", help="number of images")] = 64,
    seed: Annotated[int, typer.Option()] = 0,
    out: Annotated[Path, typer.Option(help=".npz (images in [-1, 1]) or .png (a grid)")] = Path(
        "samples.png"
    ),
    device: Annotated[str, typer.Option(help="auto|cpu|cuda")] = "auto",
) -> None:
    """Write N generated images of a trained run."""
    from qaaan.train import generate

    with one_line_errors():
        path = generate(checkpoint, n, seed, out, device)
    console.print(f"wrote {n} images to {path}")


classifier_app = typer.Typer(no_args_is_help=True, help="The evaluation classifier.")
app.add_typer(classifier_app, name="classifier")


@classifier_app.command("train")
def classifier_train(
    dataset: Annotated[str, typer.Option(help="mnist|fashion-mnist")] = "mnist",
    data_dir: Annotated[str | None, typer.Option(help="data directory (else $QAAAN_DATA)")] = None,
    epochs: Annotated[int, typer.Option()] = 3,
    seed: Annotated[int, typer.Option()] = 0,
    out: Annotated[Path, typer.Option(help="where to write the .safetensors weights")] = Path(
        "classifier.safetensors"
    ),
) -> None:
    """Train the small CNN whose features and probabilities IS and FID use."""
    from qaaan.metrics import train_classifier

    with one_line_errors():
        check_positive_int("epochs", epochs)
        result = train_classifier(dataset, data_dir, epochs, seed, file_to_write(out))
    console.print(f"test accuracy {result['test_accuracy']:.4f}; weights written to {out}")


@app.command("evaluate")
def evaluate_run(
    checkpoint: Annotated[Path | None, typer.Option(help="a run directory")] = None,
    n: Annotated[int, typer.Option("-n", help="number of generated images")] = 10_000,
    seed: Annotated[int, typer.Option()] = 0,
    real: Annotated[bool, typer.Option(help="also report the real-data reference")] = False,
    data_dir: Annotated[str | None, typer.Option(help="data directory (else $QAAAN_DATA)")] = None,
    classifier_weights: Annotated[
        Path | None, typer.Option("--classifier", help="weights (default: the shipped ones)")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the figures here")] = None,
    device: Annotated[str, typer.Option(help="auto|cpu|cuda")] = "auto",
    dataset: Annotated[
        str | None, typer.Option(help="mnist|fashion-mnist (default: the run's dataset)")
    ] = None,
) -> None:
    """IS (Eq. 17), FID (Eq. 18) and mode coverage of a run's images, against the test set of
    its dataset (MNIST or Fashion-MNIST), scored by that dataset's classifier."""
    import json

    from qaaan import data, metrics
    from qaaan.train import CHECKPOINT, generated_images, load_checkpoint

    with one_line_errors():
        if checkpoint is None and not real:
            raise ConfigError("give --checkpoint DIR, --real, or both")
        if json_out is not None:
            file_to_write(json_out)
        if dataset is None and checkpoint is not None:
            dataset = str(load_checkpoint(checkpoint / CHECKPOINT)["config"].get("dataset"))
        dataset = metrics.classifier_for(dataset)
        classifier = metrics.load_classifier(dataset, classifier_weights)
        figures = {}
        if checkpoint is not None:
            test = data.load(dataset, data_dir, train=False)
            reference = test.batch(torch.arange(len(test)))
            images = generated_images(checkpoint, n, seed, device)
            if images.shape[1:] != (1, 28, 28):
                raise ConfigError("evaluate scores 28x28 grey runs (MNIST-like) only")
            figures["generated"] = metrics.evaluate(images, reference, classifier)
        if real:
            figures["real"] = metrics.real_reference(dataset, data_dir, classifier)
        if json_out is not None:
            json_out.write_text(json.dumps(figures, indent=2))
    table = Table("", "IS", "FID", "KL to uniform", "smallest class", title="qaaan evaluate")
    for name, row in figures.items():
        table.add_row(
            name,
            f"{row['inception_score']:.3f} ± {row['inception_score_std']:.3f}",
            f"{row['fid']:.3f}",
            f"{row['kl_to_uniform']:.4f}",
            f"{row['smallest_share']:.3%}",
        )
    console.print(table)


experiment_app = typer.Typer(no_args_is_help=True, help="Reproductions of the paper's figures.")
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("topology")
def experiment_topology(
    dataset: Annotated[str | None, typer.Option(help="mnist or mnist-10k")] = None,
    data_dir: Annotated[str | None, typer.Option(help="data directory (else $QAAAN_DATA)")] = None,
    samplers_list: Annotated[
        str | None, typer.Option("--samplers", help="comma list: gibbs,sqa,mock-dwave")
    ] = None,
    topologies: Annotated[
        str | None, typer.Option(help="comma list: complete,bipartite,chimera")
    ] = None,
    runs: Annotated[int | None, typer.Option(help="seeds per configuration")] = None,
    iterations: Annotated[int | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    out: Annotated[str | None, typer.Option(help="output directory")] = None,
    config: Annotated[Path | None, typer.Option(help="a .toml or .yaml file of options")] = None,
) -> None:
    """Paper Figs. 6 and 7: L1 against iterations per topology and sampler (PNG, CSV, JSON)."""
    from qaaan.experiments.topology import TopologyConfig, run

    with one_line_errors():
        cli_values = {
            "dataset": dataset, "data_dir": data_dir, "samplers": comma_list(samplers_list),
            "topologies": comma_list(topologies), "runs": runs, "iterations": iterations,
            "seed": seed, "out": out,
        }  # fmt: skip
        settings = build(TopologyConfig, config, cli_values)
        summary = run(settings)
    table = Table("sampler", "topology", "L1 first", "L1 final (mean ± std)", title="topology")
    for sampler_name, by_graph in summary.items():
        for graph_name, row in by_graph.items():
            final = f"{row['final_l1_mean']:.1f} ± {row['final_l1_std']:.1f}"
            table.add_row(sampler_name, graph_name, f"{row['first_l1_mean']:.1f}", final)
    console.print(table)
    console.print(f"written to {settings.out}: topology.png, topology.csv, topology.json")


@experiment_app.command("colour")
def experiment_colour(
    data_dir: Annotated[
        str, typer.Option(help="the image folder, or the folder holding bedroom_train_lmdb")
    ],
    dataset: Annotated[str, typer.Option(help="lsun|folder")] = "lsun",
    iterations: Annotated[int | None, typer.Option(help="total iterations (default 20000)")] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    device: Annotated[str | None, typer.Option(help="auto|cpu|cuda")] = None,
    out: Annotated[str, typer.Option(help="run directory")] = "runs/colour",
    resume: Annotated[bool, typer.Option(help="continue the run in --out")] = False,
) -> None:
    """Paper Fig. 9: 64x64 colour images with a complete latent graph sampled by gibbs."""
    from qaaan.train import PRESETS, TrainConfig, Trainer, resume_config

    with one_line_errors():
        if dataset not in ("lsun", "folder"):
            raise ConfigError(f"the colour experiment takes lsun or folder, got {dataset!r}")
        cli_values = {
            "dataset": dataset, "data_dir": data_dir, "iterations": iterations,
            "batch_size": batch_size, "seed": seed, "device": device, "out": out,
        }  # fmt: skip
        if resume:
            changes = {k: v for k, v in cli_values.items() if v is not None}
            settings = resume_config(Path(out), changes)
        else:
            settings = build(TrainConfig, None, cli_values, PRESETS["colour"])
        result = Trainer(settings, resume=resume).run()
    console.print(f"{result['iterations']} iterations; grids in {out}/samples")


@experiment_app.command("mnist")
def experiment_mnist(
    variants: Annotated[
        str | None,
        typer.Option(help="comma list: uniform,gibbs,sqa,mock-dwave (also sqa-persistent)"),
    ] = None,
    runs: Annotated[int | None, typer.Option(help="seeds 0 .. runs-1 (default: 3 runs)")] = None,
    seeds: Annotated[str | None, typer.Option(help="comma list of seeds instead, e.g. 3,4")] = None,
    iterations: Annotated[int | None, typer.Option(help="training iterations per run")] = None,
    evaluate_n: Annotated[int | None, typer.Option(help="generated images scored per run")] = None,
    width: WidthOption = None,
    refine: RefineOption = None,
    ema: EmaOption = None,
    dataset: Annotated[str | None, typer.Option(help="mnist or mnist-10k (training data)")] = None,
    data_dir: Annotated[str | None, typer.Option(help="data directory (else $QAAAN_DATA)")] = None,
    device: Annotated[str | None, typer.Option(help="auto|cpu|cuda")] = None,
    out: Annotated[str | None, typer.Option(help="output directory")] = None,
    config: Annotated[Path | None, typer.Option(help="a .toml or .yaml file of options")] = None,
) -> None:
    """Paper section 7: IS, FID and mode coverage of every prior, same budget and seeds."""
    from qaaan.experiments.mnist import MnistConfig, run

    with one_line_errors():
        if runs is not None and seeds is not None:
            raise ConfigError("give --runs or --seeds, not both")
        seed_list = None if seeds is None else [int_or_text(s) for s in comma_list(seeds)]
        if runs is not None:
            seed_list = list(range(check_positive_int("runs", runs)))
        cli_values = {
            "variants": comma_list(variants), "seeds": seed_list,
            "iterations": iterations, "evaluate_n": evaluate_n,
            "width": width, "refine": refine, "ema": ema, "dataset": dataset,
            "data_dir": data_dir, "device": device, "out": out,
        }  # fmt: skip
        settings = build(MnistConfig, config, cli_values)
        run(settings)
    console.print((Path(settings.out) / "results.md").read_text())


@experiment_app.command("merge")
def experiment_merge(
    results: Annotated[
        list[Path], typer.Argument(help="results.json files of `qaaan experiment mnist`")
    ],
    out: Annotated[Path, typer.Option(help="folder for the joined results.json and results.md")],
) -> None:
    """Joins `experiment mnist` results run on other seeds or machines into one table."""
    from qaaan.experiments.mnist import merge

    with one_line_errors():
        merge(results, out)
    console.print((out / "results.md").read_text())


@app.command("plot")
def plot_run(
    checkpoint: Annotated[Path, typer.Option(help="a run directory written by `qaaan train`")],
    n: Annotated[int, typer.Option("-n", help="images for the class histogram")] = 2000,
    seed: Annotated[int, typer.Option()] = 0,
    out: Annotated[Path | None, typer.Option(help="where to write (default: the run)")] = None,
) -> None:
    """Training curves (losses, L1, beta_eff, sampling share) and the class histogram."""
    from qaaan import metrics, plots
    from qaaan.train import CHECKPOINT, generated_images, load_checkpoint

    target = out or checkpoint
    with one_line_errors():
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        written = [plots.training_curves(checkpoint, target / "curves.png")]
        images = generated_images(checkpoint, n, seed, "cpu")
        if images.shape[1:] == (1, 28, 28):
            dataset = load_checkpoint(checkpoint / CHECKPOINT)["config"].get("dataset")
            classifier = metrics.load_classifier(metrics.classifier_for(dataset))
            coverage = metrics.mode_coverage(images, classifier)
            title = f"{n} generated images, KL to uniform {coverage['kl_to_uniform']:.3f}"
            written.append(
                plots.class_histogram(coverage["class_shares"], target / "classes.png", title)
            )
    console.print("wrote " + ", ".join(str(p) for p in written))
