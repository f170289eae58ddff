"""The one exception type for bad user input, and how a settings model refuses a value.

Everything a user can get wrong (a sampler name, an option value, a topology that does not fit)
raises `ConfigError` with a one-line message that names the bad value and what is allowed.
The CLI turns it into that line on stderr and exit code 2. Settings and sampler options are
pydantic models (`qaaan.settings`, `qaaan.samplers.options`); `validate` turns the first error
pydantic finds into that one line.
"""

from __future__ import annotations

import numbers
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """Bad user input: the message names the bad value and what is allowed."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    return (str(error).splitlines() or [""])[0] or type(error).__name__


def describe(error: ValidationError, prefix: str = "") -> str:
    """'key = value: what is allowed' for the first error of `error` (keys under `prefix`)."""
    first = error.errors(include_url=False)[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    message = first["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if first["type"] == "missing":
        return f"{key} is required"
    if not first["loc"]:  # a rule joining several settings: the message names them
        return f"{key}: {message}" if key else message
    return f"{key} = {first['input']!r}: {message}"


def validate(model: type[Model], values: Any, prefix: str = "") -> Model:
    """`model` from `values` (a mapping), or a `ConfigError` naming the key, value and rule."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix or 'settings'} = {values!r}: input should be a mapping")
    allowed = [field.alias or name for name, field in model.model_fields.items()]
    unknown = sorted(str(key) for key in set(values) - set(allowed))
    if unknown and model.model_config.get("extra") != "allow":
        where = f" of {prefix}" if prefix else ""
        raise ConfigError(
            f"unknown key(s){where} {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ConfigError(describe(error, prefix)) from None


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_nonnegative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"{name} must be a number > 0, got {value!r}")
    if not np.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_seed(value: Any) -> int | None:
    if value is None:
        return None
    if check_nonnegative_int("seed", value) >= 2**63:
        raise ConfigError(f"seed must be below 2**63, got {value!r}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value
