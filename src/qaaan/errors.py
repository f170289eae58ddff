"""The one exception type for bad user input.

Everything a user can get wrong (a sampler name, an option value, a topology that does not fit)
raises `ConfigError` with a one-line message that names the bad value and what is allowed.
The CLI turns it into that line on stderr and exit code 2. The `check_*` functions below
validate one value each and raise it.
"""

import numbers
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """Bad user input: the message names the bad value and what is allowed."""


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


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    return (str(error).splitlines() or [""])[0] or type(error).__name__
