"""Command configuration: one dataclass per command, filled from a TOML/YAML file and CLI options.

Precedence: the dataclass defaults, then the file (``--config``), then the options given on the
command line. Unknown keys and values of the wrong type are refused with a one-line error.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import torch
import yaml

from qaaan.errors import ConfigError

Config = TypeVar("Config")


def read_file(path: Path) -> dict[str, Any]:
    """The mapping in a .toml, .yaml or .yml file."""
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist or is not a file")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            content = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            content = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {str(path)!r} must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(f"config file {str(path)!r} is not valid: {first_line}") from None
    if not isinstance(content, dict) or not all(isinstance(key, str) for key in content):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of option names")
    return {key.replace("-", "_"): value for key, value in content.items()}


def build(
    config_class: type[Config],
    path: Path | None,
    cli_values: dict[str, Any],
    preset: dict[str, Any] | None = None,
) -> Config:
    """`config_class` from its defaults, a `preset`, the file at `path`, then the non-None
    `cli_values`."""
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    values = dict(preset or {})
    values.update(read_file(path) if path is not None else {})
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(unknown)}; allowed: {', '.join(fields)}"
        )
    values.update({key: value for key, value in cli_values.items() if value is not None})
    for key, value in values.items():
        default = fields[key].default
        expected = (
            type(default) if default is not None and default is not dataclasses.MISSING else None
        )
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = float(value)
        elif expected is not None and not isinstance(value, expected):
            raise ConfigError(f"{key} must be of type {expected.__name__}, got {value!r}")
    return config_class(**values)


def parse_option(text: str) -> tuple[str, Any]:
    """'KEY=VALUE' -> (key, value), the value read as YAML (int, float, bool, list or str)."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"option {text!r} must have the form KEY=VALUE")
    return key.strip().replace("-", "_"), _scalar(raw)


def _scalar(raw: str) -> Any:
    """An int or float if `raw` reads as one (YAML reads '1e-3' as a string), else YAML."""
    for number in (int, float):
        try:
            return number(raw)
        except ValueError:
            pass
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def resolve_device(name: str) -> torch.device:
    """'auto' (CUDA when there is one), 'cpu' or 'cuda'."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was asked for, but no CUDA device is available")
        return torch.device("cuda")
    raise ConfigError(f"device must be one of auto, cpu, cuda; got {name!r}")
