"""The `qaaan` command.

The options of `train`, `sample`, `sample-bm` and the experiments are derived from their
settings models (`qaaan.settings`): each field becomes an option with its description, default
and range in ``--help``. A run's settings come from the defaults, then a preset (`train`), then
``--config FILE``, then the options given. Bad input becomes one line and exit code 2
(`one_line_errors`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

import torch
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import track
from rich.table import Table

from qaaan import samplers, settings, topology
from qaaan.bm import random_machine, spin_means
from qaaan.errors import ConfigError, first_line
from qaaan.samplers.exact import MAX_NODES, moment_deviation

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


# ---- options derived from a settings model -------------------------------------------------


METAVARS = {int: "INTEGER", float: "FLOAT", str: "TEXT"}


def _given(annotation: Any) -> Any:
    """The type of a value that is given: `annotation` without its None (``list[float] | None``
    is a list when given)."""
    kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
    return kinds[0] if get_origin(annotation) is not list and len(kinds) == 1 else annotation


def _metavar(annotation: Any) -> str:
    """INTEGER, FLOAT, TEXT, a|b|c for a choice, A,B,... for a list."""
    annotation = _given(annotation)
    if get_origin(annotation) is Literal:
        return "|".join(map(str, get_args(annotation)))
    if get_origin(annotation) is list:
        return "A,B,..."
    kinds = [k for k in get_args(annotation) or (annotation,) if k is not type(None)]
    return METAVARS.get((get_origin(kinds[0]) and get_args(kinds[0])[0]) or kinds[0], "VALUE")


def _option(name: str, field: Any) -> inspect.Parameter:
    """The command-line option of one settings field; its value arrives as text (or a flag)."""
    flag = ("-" if len(name) == 1 else "--") + name.replace("_", "-")
    shown = [f"default: {field.default!r}"] if field.default is not None else []
    if rule := settings.rule_text(field):
        shown.append(rule)
    help_text = f"{field.description} ({'; '.join(shown)})" if shown else field.description
    if field.annotation is bool:
        option = typer.Option(f"{flag}/--no-{flag[2:]}", help=help_text, show_default=False)
        annotation = bool | None
    elif get_origin(field.annotation) is dict:
        option = typer.Option(
            flag.removesuffix("s"), metavar="KEY=VALUE", show_default=False,
            help=f"{field.description}; repeatable",
        )  # fmt: skip
        annotation = list[str] | None
    else:
        option = typer.Option(
            flag, metavar=_metavar(field.annotation), help=help_text, show_default=False
        )
        annotation = str | None
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[annotation, option]
    )


def _typed(annotation: Any, text: str) -> Any:
    """`text` as the field's type where it reads as one; otherwise the text, which the model
    then refuses naming the key, the value and what is allowed."""
    annotation = _given(annotation)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return [_typed(item, part.strip()) for part in text.split(",") if part.strip()]
    kinds = get_args(annotation) or (annotation,)
    for kind in (int, float):
        if kind in kinds or any(get_args(k)[:1] == (kind,) for k in kinds):
            try:
                return kind(text)
            except ValueError:
                pass
    return text


def parse_option(text: str) -> tuple[str, Any]:
    """'KEY=VALUE' -> (key, value), the value read as YAML (int, float, bool, list or str)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"option {text!r} must have the form KEY=VALUE")
    for number in (int, float):  # YAML reads '1e-3' as a string
        with contextlib.suppress(ValueError):
            return key.strip(), number(raw)
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError:
        return key.strip(), raw


def given_values(model: type[settings.Settings], given: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line, as values of `model`'s fields."""
    values = {}
    for name, raw in given.items():
        if raw is None:
            continue
        annotation = model.model_fields[name].annotation
        if get_origin(annotation) is dict:
            values[name] = dict(parse_option(text) for text in raw)
        elif isinstance(raw, bool):
            values[name] = raw
        else:
            values[name] = _typed(annotation, raw)
    return settings.one_run_length(values)


def settings_command(
    group: typer.Typer, name: str, model: type[settings.Settings]
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Registers a command whose options are `model`'s fields followed by the function's own
    parameters; the function gets the given fields as ``given`` (a dict of values)."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        hints = get_type_hints(function, include_extras=True)
        own = [p for p in inspect.signature(function).parameters.values() if p.name != "given"]
        own = [p.replace(annotation=hints[p.name], kind=p.KEYWORD_ONLY) for p in own]
        fields = [_option(field_name, field) for field_name, field in model.model_fields.items()]
        parameters = [*fields, *own]

        @functools.wraps(function)
        def callback(**values: Any) -> None:
            given = {field: values.pop(field) for field in model.model_fields}
            with one_line_errors():
                return function(given=given_values(model, given), **values)

        callback.__signature__ = inspect.Signature(parameters)
        callback.__annotations__ = {p.name: p.annotation for p in parameters}
        group.command(name)(callback)
        return function

    return register


def images_to_draw(run: Path, n: int, seed: int, device: str) -> settings.SampleSettings:
    """The images a command draws from a run, checked as `qaaan sample` checks them."""
    values = {"checkpoint": str(run), "n": n, "seed": seed, "device": device}
    return settings.build(settings.SampleSettings, values)


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="a .toml or .yaml file of these settings, e.g. run.toml"),
]


def from_layers(
    model: type[settings.Settings], given: dict[str, Any], config: Path | None, preset: dict
) -> settings.Settings:
    """The settings from the defaults, a preset, the config file, then the options given."""
    file_values = settings.read_file(config) if config is not None else {}
    return settings.build(model, preset, file_values, given)


def print_table(title: str, rows: dict[str, Any]) -> None:
    table = Table("quantity", "value", title=title)
    for key, value in rows.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)


# ---- commands --------------------------------------------------------------------------------


def run_sample_bm(config: settings.SampleBMSettings) -> dict[str, Any]:
    """Samples a random machine `calls` times and returns what it measured."""
    device = settings.torch_device(config.device)
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
    beta = getattr(sampler.options, "beta", 1.0)  # samplers without one draw at beta = 1
    if config.nodes <= MAX_NODES and isinstance(beta, float):
        result["max |moment - exact|"] = round(moment_deviation(spins, bm, beta), 4)
    return result


@settings_command(app, "sample-bm", settings.SampleBMSettings)
def sample_bm(given: dict[str, Any], config: ConfigOption = None) -> None:
    """Sample a random Boltzmann machine; for N <= 20, compare with exact enumeration.

    Example: qaaan sample-bm --sampler sqa --nodes 16 --sampler-option trotter=8
    """
    result = run_sample_bm(from_layers(settings.SampleBMSettings, given, config, {}))
    print_table("qaaan sample-bm", result)


@app.command("samplers")
def list_samplers() -> None:
    """List the registered samplers (plugins included) and their options.

    Example: qaaan samplers
    """
    table = Table("name", "option", "type", "default", "allowed", "description", title="samplers")
    for name in samplers.available():
        model = samplers.options_model(name)
        fields = model.model_fields.items() if model is not None else []
        for index, (option, field) in enumerate(fields):
            table.add_row(
                name if index == 0 else "", field.alias or option,
                settings.type_name(field.annotation),
                "required" if field.is_required() else repr(field.default),
                settings.rule_text(field), escape(field.description or ""),
            )  # fmt: skip
        if not fields:
            table.add_row(name, "(declared by the plugin)", "", "", "", "")
    console.print(table)


@app.command("info")
def show_info() -> None:
    """Print the version, the samplers with their backends, the devices torch sees and the
    data folder.

    Example: qaaan info
    """
    from qaaan import doctor

    facts = doctor.info()
    table = Table("", "", title="qaaan info", show_header=False)
    for key, value in facts.items():
        if isinstance(value, dict):
            for index, (name, detail) in enumerate(value.items()):
                table.add_row(key if index == 0 else "", f"{name}  {detail or ''}".rstrip())
        else:
            table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    console.print(table)


@app.command("doctor")
def check_installation(
    data_dir: Annotated[
        str | None, typer.Option(help="the data folder to check (default: $QAAAN_DATA)")
    ] = None,
) -> None:
    """Check this installation (data, classifiers, a 2-second sampler test, optional packages,
    QPU credentials) and say what to do about each problem; exit code 1 if there is one.

    Example: qaaan doctor --data-dir ~/data
    """
    from qaaan import doctor

    found = doctor.run_checks(data_dir)
    table = Table("", "check", "found", "what to do", title="qaaan doctor")
    table.columns[2].overflow = "fold"
    marks = {True: "[green]ok[/]", False: "[red]problem[/]", None: "[yellow]absent[/]"}
    for check in found:
        advice = escape(check.advice) if check.ok is not True else ""
        table.add_row(marks[check.ok], check.name, escape(check.found), advice)
    console.print(table)
    if doctor.has_problems(found):
        raise typer.Exit(code=1)


PresetOption = Annotated[
    str | None,
    typer.Option(help=f"one of {', '.join(settings.PRESETS)}, e.g. quick (minutes on a CPU)"),
]


@settings_command(app, "train", settings.TrainSettings)
def train(
    given: dict[str, Any],
    resume: Annotated[bool, typer.Option(help="continue the run in --out")] = False,
    config: ConfigOption = None,
    preset: PresetOption = None,
) -> None:
    """Train the associative adversarial network (paper Fig. 3).

    Example: qaaan train --sampler sqa --sampler-option trotter=8 --out runs/sqa

    With --resume the run's saved settings are used; only its length (--iterations/--epochs),
    the device, the speed settings (--precision, --channels-last, --compile), the data
    directory, --out and the logging intervals may change.
    """
    if preset is not None and resume:
        raise ConfigError("--preset starts a new run; --resume continues one with its settings")
    if preset is not None and preset not in settings.PRESETS:
        raise ConfigError(
            f"preset = {preset!r}: input should be one of {', '.join(settings.PRESETS)}"
        )
    from qaaan.loop import Trainer

    run_settings = training_settings(given, resume, config, settings.PRESETS.get(preset, {}))
    result = Trainer(run_settings, resume=resume).run()
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 reports
        print_table(f"qaaan train -> {run_settings.out}", result)


def training_settings(
    given: dict[str, Any], resume: bool, config: Path | None, preset: dict[str, Any]
) -> settings.TrainSettings:
    """A new run's settings (defaults, preset, file, options), or with --resume the saved ones
    of the run in --out with the changes the options and the file make."""
    from qaaan.loop import resume_settings

    if not resume:
        return from_layers(settings.TrainSettings, given, config, preset)
    changes = settings.merged(settings.read_file(config) if config is not None else {}, given)
    out = changes.get("out", preset.get("out", settings.TrainSettings.model_fields["out"].default))
    return resume_settings(Path(out), changes)


@settings_command(app, "sample", settings.SampleSettings)
def sample(given: dict[str, Any]) -> None:
    """Write N generated images of a trained run.

    Example: qaaan sample --checkpoint runs/quick -n 10000 --out quick.npz
    """
    from qaaan.generation import generate

    options = settings.build(settings.SampleSettings, given)
    path = generate(
        Path(options.checkpoint), options.n, options.seed, Path(options.out), options.device
    )
    console.print(f"wrote {options.n} images to {path}")


classifier_app = typer.Typer(no_args_is_help=True, help="The evaluation classifier.")
app.add_typer(classifier_app, name="classifier")


@classifier_app.command("train")
def classifier_train(
    dataset: Annotated[str, typer.Option(help="mnist|fashion-mnist")] = "mnist",
    data_dir: Annotated[
        str | None, typer.Option(help="data directory (else $QAAAN_DATA), e.g. ~/data")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="passes over the training set")] = 3,
    seed: Annotated[int, typer.Option(help="seed of the weights and the batch order")] = 0,
    out: Annotated[Path, typer.Option(help="where to write the .safetensors weights")] = Path(
        "classifier.safetensors"
    ),
) -> None:
    """Train the small CNN whose features and probabilities IS and FID use.

    Example: qaaan classifier train --dataset fashion-mnist --out fashion.safetensors
    """
    from qaaan.metrics import train_classifier

    with one_line_errors():
        result = train_classifier(dataset, data_dir, epochs, seed, file_to_write(out))
    console.print(f"test accuracy {result['test_accuracy']:.4f}; weights written to {out}")


@app.command("evaluate")
def evaluate_run(
    checkpoint: Annotated[
        Path | None, typer.Option(help="a run directory, e.g. runs/quick")
    ] = None,
    n: Annotated[int, typer.Option("-n", help="number of generated images")] = 10_000,
    seed: Annotated[int, typer.Option(help="seed of the latent draws")] = 0,
    real: Annotated[bool, typer.Option(help="also report the real-data reference")] = False,
    data_dir: Annotated[
        str | None, typer.Option(help="data directory (else $QAAAN_DATA), e.g. ~/data")
    ] = None,
    classifier_weights: Annotated[
        Path | None, typer.Option("--classifier", help="weights (default: the shipped ones)")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the figures here, e.g. scores.json")
    ] = None,
    device: Annotated[str, typer.Option(help="auto|cpu|cuda")] = "auto",
    dataset: Annotated[
        str | None, typer.Option(help="mnist|fashion-mnist (default: the run's dataset)")
    ] = None,
) -> None:
    """IS (Eq. 17), FID (Eq. 18) and mode coverage of a run's images, against the test set of
    its dataset (MNIST or Fashion-MNIST), scored by that dataset's classifier.

    Example: qaaan evaluate --checkpoint runs/quick -n 10000 --json quick.json
    """
    import json

    from qaaan import checkpoint as checkpoints
    from qaaan import data, metrics
    from qaaan.generation import generated_images

    with one_line_errors():
        if checkpoint is None and not real:
            raise ConfigError("give --checkpoint DIR, --real, or both")
        images_to_draw(checkpoint or Path("."), n, seed, device)
        if json_out is not None:
            file_to_write(json_out)
        if dataset is None and checkpoint is not None:
            path = checkpoint / checkpoints.CHECKPOINT
            dataset = str(checkpoints.load(path)["config"].get("dataset"))
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


@settings_command(experiment_app, "graybox", settings.GrayboxSettings)
def experiment_graybox(given: dict[str, Any], config: ConfigOption = None) -> None:
    """Paper section 4: gray-box against white-box training on a device at an unknown
    temperature, L1 (Eq. 13) against iterations (PNG, JSON).

    Example: qaaan experiment graybox --device-beta 2.5 --runs 5 --out runs/graybox
    """
    from qaaan.experiments.graybox import run

    options = from_layers(settings.GrayboxSettings, given, config, {})
    summary = run(options)
    table = Table("model moments from", "scored on", "final L1 (mean ± std)", title="gray-box")
    scored = {"reference": "its own samples", "gray-box": "the device", "white-box": "the device"}
    trained = {"reference": "exact, beta 1", "gray-box": "the device", "white-box": "exact, beta 1"}
    for name, row in summary.items():
        table.add_row(trained[name], scored[name], f"{row['mean']:.1f} ± {row['std']:.1f}")
    console.print(table)
    console.print(f"written to {options.out}: graybox.png, graybox.json")


@settings_command(experiment_app, "colour", settings.TrainSettings)
def experiment_colour(
    given: dict[str, Any],
    resume: Annotated[bool, typer.Option(help="continue the run in --out")] = False,
    config: ConfigOption = None,
) -> None:
    """Paper Fig. 9: 64x64 colour images with a complete latent graph sampled by gibbs: `qaaan
    train` with the colour preset, on LSUN bedrooms (--data-dir holds bedroom_train_lmdb) or
    an image folder (--dataset folder).

    Example: qaaan experiment colour --dataset folder --data-dir ~/pictures --iterations 5000
    """
    from qaaan.loop import Trainer

    run_settings = training_settings(given, resume, config, settings.PRESETS["colour"])
    if run_settings.dataset not in ("lsun", "folder"):
        raise ConfigError(
            f"dataset = {run_settings.dataset!r}: the colour experiment takes lsun or folder"
        )
    result = Trainer(run_settings, resume=resume).run()
    console.print(f"{result['iterations']} iterations; grids in {run_settings.out}/samples")


@settings_command(app, "sweep", settings.SweepSettings)
def sweep(
    given: dict[str, Any],
    spec: Annotated[
        Path, typer.Argument(help=r"the spec: kind, seeds, \[base], \[grid], baseline")
    ],
) -> None:
    """Every grid point of a spec with every seed, run and scored, then compared with the
    baseline: summary.json, summary.md and summary.png in --out, a folder per run.

    Example: qaaan sweep experiments/topology.toml --workers 2 --out runs/topology
    """
    from qaaan.sweep import sweep as run_sweep

    options = settings.build(settings.SweepSettings, given)
    values = settings.read_file(spec, "spec")
    spec_settings = settings.build(settings.SweepSpec, values)
    out = Path(options.out or Path("runs") / spec.stem)
    summary = run_sweep(spec_settings, options, out)
    console.print((out / "summary.md").read_text(), markup=False, soft_wrap=True)
    if summary["failed"]:
        raise typer.Exit(code=1)


@app.command("plot")
def plot_run(
    checkpoint: Annotated[
        Path, typer.Option(help="a run directory written by `qaaan train`, e.g. runs/quick")
    ],
    n: Annotated[int, typer.Option("-n", help="images for the class histogram")] = 2000,
    seed: Annotated[int, typer.Option(help="seed of the latent draws")] = 0,
    out: Annotated[Path | None, typer.Option(help="where to write (default: the run)")] = None,
) -> None:
    """Training curves (losses, L1, beta_eff, sampling share) and the class histogram.

    Example: qaaan plot --checkpoint runs/quick
    """
    from qaaan import checkpoint as checkpoints
    from qaaan import metrics, plots
    from qaaan.generation import generated_images

    target = out or checkpoint
    with one_line_errors():
        images_to_draw(checkpoint, n, seed, "cpu")
        checkpoints.check_folder(target)  # before anything is read or written
        checkpoints.load(checkpoint / checkpoints.CHECKPOINT)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        written = [plots.training_curves(checkpoint, target / "curves.png")]
        images = generated_images(checkpoint, n, seed, "cpu")
        if images.shape[1:] == (1, 28, 28):
            dataset = checkpoints.load(checkpoint / checkpoints.CHECKPOINT)["config"]["dataset"]
            classifier = metrics.load_classifier(metrics.classifier_for(dataset))
            coverage = metrics.mode_coverage(images, classifier)
            title = f"{n} generated images, KL to uniform {coverage['kl_to_uniform']:.3f}"
            written.append(
                plots.class_histogram(coverage["class_shares"], target / "classes.png", title)
            )
    console.print("wrote " + ", ".join(str(p) for p in written))
