"""Calling a QPU that may be slow or down: a timeout per call, retries with backoff.

A call that raises a transient error (network and cloud errors, which dwave-cloud-client raises
as OSError subclasses, polling timeouts, failed uploads) or outlasts ``timeout`` seconds is tried
again after ``backoff``, 2 ``backoff``, 4 ``backoff``, ... seconds, up to ``retries`` more times.
Errors that a retry cannot mend (bad credentials, an unknown or unsupported solver, a problem
the solver rejects) and any other error (a bug) are raised at once. When every try failed,
`call` raises `QPUUnavailable`; the QPU sampler then uses its fallback sampler, if it has one.

A call abandoned at its timeout cannot be killed (Python has no way to stop a thread): it runs
on in its daemon thread until the cloud client returns, and QPU time it may still use is not
counted.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from dwave.cloud.exceptions import (
    PollingTimeout,
    ProblemUploadError,
    SolverAuthenticationError,
    SolverFailureError,
    SolverNotFoundError,
    UnsupportedSolverError,
)

from qaaan.errors import ConfigError, check_nonnegative_int

TRANSIENT = (OSError, PollingTimeout, ProblemUploadError)  # TimeoutError is an OSError
PERMANENT = (  # OSError subclasses too, but retrying does not help
    SolverAuthenticationError, SolverNotFoundError, UnsupportedSolverError, SolverFailureError,
)  # fmt: skip


class QPUUnavailable(ConfigError):
    """Every try of a QPU call failed (the message names the tries and the last error)."""


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    timeout: float | None = None  # seconds per try; None waits for ever
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry, doubled before each next one

    def __post_init__(self):
        if self.timeout is not None and not _positive_number(self.timeout):
            raise ConfigError(f"timeout must be seconds > 0 or None, got {self.timeout!r}")
        check_nonnegative_int("retries", self.retries)
        if not (_positive_number(self.backoff) or self.backoff == 0):
            raise ConfigError(f"backoff must be a number of seconds >= 0, got {self.backoff!r}")


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


def _with_timeout(function: Callable[[], Any], timeout: float | None) -> Any:
    """function() in a daemon thread, abandoned (left to finish on its own) after `timeout` s."""
    if timeout is None:
        return function()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _describe(error: BaseException) -> str:
    return (f"{type(error).__name__}: {error}".splitlines() or [""])[0]


def call(function: Callable[[], Any], policy: RetryPolicy) -> tuple[Any, list[str]]:
    """function()'s value and the transient errors of the tries before it succeeded."""
    failures: list[str] = []
    for attempt in range(policy.retries + 1):
        try:
            return _with_timeout(function, policy.timeout), failures
        except PERMANENT as error:
            raise ConfigError(f"the QPU refused the call: {_describe(error)}") from None
        except TRANSIENT as error:
            failures.append(_describe(error))
            if attempt < policy.retries:
                time.sleep(policy.backoff * 2**attempt)
    raise QPUUnavailable(
        f"the QPU failed {len(failures)} tries (last: {failures[-1]}); set the sampler option "
        "fallback (e.g. fallback=gibbs) to continue without it"
    )
