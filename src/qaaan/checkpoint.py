"""The checkpoint format: one file per run, written atomically, loaded without running code.

``checkpoint.pt`` holds everything resuming needs (the settings without secrets, the nets, the
optimisers, the weight average, the prior's machine and sampler states, the random state and the
data position), so that K iterations, a stop at any moment (even kill -9), and ``--resume`` for
K more give the same weights as 2K iterations straight. It is written to a temporary file and
renamed over the last one, so a stop during a write leaves the last checkpoint intact, and it is
loaded with ``torch.load(weights_only=True)``: plain tensors and containers, never pickled code.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from qaaan.errors import ConfigError, first_line
from qaaan.settings import TrainSettings

CHECKPOINT = "checkpoint.pt"
PREDATING = {"refine": False, "ema": 0.0}
"""Settings that a checkpoint may lack: it was written before they existed, and these were
their values then (every other missing setting had today's default)."""
FORMAT = 2
"""The checkpoint format; a checkpoint without one is format 1."""
PREDATING_OPTIONS = {"mock-dwave": {"device_model": False}}
"""Sampler options that format 1 checkpoints lack, and their values then: mock-dwave sampled an
ideal device before the device model existed."""


def check_folder(folder: Path) -> None:
    """Refuses, before any work, a run folder that cannot be made: one that is a file, or lies
    under one (nothing is created here: a run writes its folder after its first iteration)."""
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ConfigError(f"cannot use {str(existing)!r}: Not a directory")


def save(state: dict[str, Any], path: Path) -> None:
    """Writes `state` to a temporary file beside `path`, then renames it over `path`."""
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def load(path: Path) -> dict[str, Any]:
    """The checkpoint at `path`, its settings completed with what older runs lack."""
    if not path.is_file():
        raise ConfigError(f"no checkpoint at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        raise ConfigError(
            f"checkpoint {str(path)!r} is corrupt or not a qaaan checkpoint "
            "(it does not load as plain tensors with weights_only=True)"
        ) from None
    if not isinstance(state, dict) or "config" not in state or "generator" not in state:
        raise ConfigError(f"checkpoint {str(path)!r} is not a qaaan training checkpoint")
    if isinstance(state["config"], dict):
        defaults = TrainSettings.model_construct().model_dump()
        config = {**defaults, **PREDATING, **state["config"]}
        older = PREDATING_OPTIONS.get(config["sampler"])
        if state.get("format", 1) < FORMAT and older:
            config["sampler_options"] = {**older, **(config["sampler_options"] or {})}
        state["config"] = config
    return state


@contextlib.contextmanager
def fits(path: Path) -> Iterator[None]:
    """Turns a checkpoint whose parts do not fit a run (missing, mistyped, misshapen) into one
    clear error; the file itself is only read."""
    try:
        yield
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as error:
        reason = first_line(error)
        raise ConfigError(f"checkpoint {str(path)!r} does not fit a qaaan run: {reason}") from None
