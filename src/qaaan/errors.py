"""The one exception type for bad user input, and how a settings model refuses a value.

Everything a user can get wrong (a sampler name, an option value, a topology that does not fit)
raises `ConfigError` with a one-line message that names the bad value and what is allowed.
The CLI turns it into that line on stderr and exit code 2. Settings and sampler options are
pydantic models (`qaaan.settings`, `qaaan.samplers.options`); `validate` turns the first error
pydantic finds into that one line.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """Bad user input: the message names the bad value and what is allowed."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    return (str(error).splitlines() or [""])[0] or type(error).__name__


SECRET_NAMES = frozenset({"token", "api_key", "password", "secret"})
"""Options that carry credentials whatever a sampler declares: their values are never shown."""


def describe(error: ValidationError, prefix: str = "", secret: frozenset = SECRET_NAMES) -> str:
    """'key = value: what is allowed' for the first error of `error` (keys under `prefix`);
    the value of a `secret` key is not shown."""
    first = error.errors(include_url=False)[0]
    key = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    message = first["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if first["type"] == "missing":
        return f"{key} is required"
    if not first["loc"]:  # a rule joining several settings: the message names them
        return f"{key}: {message}" if key else message
    shown = "'***'" if str(first["loc"][-1]) in secret else repr(first["input"])
    return f"{key} = {shown}: {message}"


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
        declared = getattr(model, "secret_names", lambda: frozenset())()
        raise ConfigError(describe(error, prefix, SECRET_NAMES | declared)) from None
