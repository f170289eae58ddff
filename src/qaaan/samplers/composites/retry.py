"""The outermost layer of the QPU path: a QPU that may be slow or down (paper section 6.2).

A call that raises a transient error (network and cloud errors, which dwave-cloud-client raises
as OSError subclasses, polling timeouts, failed uploads) or outlasts ``timeout`` seconds is tried
again after ``backoff``, 2 ``backoff``, 4 ``backoff``, ... seconds, up to ``retries`` more times.
Errors that a retry cannot mend (bad credentials, an unknown or unsupported solver, a problem
the solver rejects) and any other error (a bug) are raised at once. When every try failed, the
optional ``fallback`` sampler draws from the logical model instead, with a logged warning, for
this call and the next ``fallback_for`` ones (a QPU that is down stays down for a while, and
each try costs the whole backoff); without one, `QPUUnavailable` is raised.

It is the outermost layer so that the fallback gets the logical model (no scaling, no chains)
and a retry repeats the whole call below it. QPU access time, failed tries and fallback calls
are totalled in a `QPUAccount`, which the stacks of one sampler share: one per logical graph,
one device.

A call abandoned at its timeout cannot be killed (Python has no way to stop a thread): it runs
on in its daemon thread until the cloud client returns, QPU time it may still use is not
counted, and what the layers below it draw from their random generator then is not
reproducible (nor is a run whose calls time out).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import dimod
from dwave.cloud.exceptions import (
    PollingTimeout,
    ProblemUploadError,
    SolverAuthenticationError,
    SolverFailureError,
    SolverNotFoundError,
    UnsupportedSolverError,
)

from qaaan.errors import ConfigError
from qaaan.samplers.composites.layer import Layer

log = logging.getLogger(__name__)

TRANSIENT = (OSError, PollingTimeout, ProblemUploadError)  # TimeoutError is an OSError
PERMANENT = (  # OSError subclasses too, but retrying does not help
    SolverAuthenticationError, SolverNotFoundError, UnsupportedSolverError, SolverFailureError,
)  # fmt: skip


class QPUUnavailable(ConfigError):
    """Every try of a QPU call failed (the message names the tries and the last error)."""


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for one try, and how often to try again (checked by the sampler options)."""

    timeout: float | None = None  # seconds per try; None waits for ever
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry, doubled before each next one


@dataclasses.dataclass
class QPUAccount:
    """What the QPU cost over a run, and how many calls still go to the fallback."""

    qpu_access_seconds: float = 0.0
    qpu_failures: int = 0
    fallback_calls: int = 0
    fallback_left: int = 0

    def totals(self) -> dict[str, float | int]:
        """The figures the trainer logs (totals over the run)."""
        return {
            "qpu_access_seconds": self.qpu_access_seconds,
            "qpu_failures": self.qpu_failures,
            "fallback_calls": self.fallback_calls,
        }


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


class RetryComposite(Layer):
    """Timeout, retries with backoff and an optional fallback around the rest of the QPU path.

    The sample set's info gains ``retried`` (the transient errors of the failed tries) and the
    account's totals; a fallback draw's info names the ``fallback`` and the ``qpu_error``.
    """

    def __init__(
        self,
        child_sampler: dimod.Sampler,
        policy: RetryPolicy | None = None,
        fallback: dimod.Sampler | None = None,
        fallback_for: int = 100,
        account: QPUAccount | None = None,
    ):
        super().__init__(child_sampler)
        self.policy = policy or RetryPolicy()
        self.fallback = fallback
        self.fallback_for = fallback_for
        self.account = account if account is not None else QPUAccount()

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        """The child's resolved sample set, or the fallback's while the QPU is down."""
        if self.account.fallback_left > 0:  # the QPU failed recently: do not wait for it again
            self.account.fallback_left -= 1
            return self._fall_back(bqm, parameters, "the QPU failed recently")
        try:
            sampleset, failures = call(lambda: self._resolved(bqm, parameters), self.policy)
        except QPUUnavailable as error:
            self.account.qpu_failures += self.policy.retries + 1
            if self.fallback is None:
                raise
            self.account.fallback_left = self.fallback_for
            log.warning("%s; the fallback sampler %s draws instead", error, self._fallback_name)
            return self._fall_back(bqm, parameters, str(error))
        self.account.qpu_failures += len(failures)
        timing = sampleset.info.get("timing", {})
        self.account.qpu_access_seconds += timing.get("qpu_access_time", 0.0) / 1e6
        sampleset.info.update(retried=failures, **self.account.totals())
        return sampleset

    def _resolved(self, bqm: dimod.BinaryQuadraticModel, parameters: dict) -> dimod.SampleSet:
        sampleset = self.child.sample(bqm, **parameters)
        sampleset.resolve()  # a cloud sample set is a future: wait for it inside the timeout
        return sampleset

    @property
    def _fallback_name(self) -> str:
        return getattr(self.fallback, "name", type(self.fallback).__name__)

    def _fall_back(
        self, bqm: dimod.BinaryQuadraticModel, parameters: dict, reason: str
    ) -> dimod.SampleSet:
        """The fallback's draws of the logical model; the QPU's own parameters are not its."""
        self.account.fallback_calls += 1
        reads = {"num_reads": parameters["num_reads"]} if "num_reads" in parameters else {}
        sampleset = self.fallback.sample(bqm, **reads)
        sampleset.info.update(
            fallback=self._fallback_name, qpu_error=reason, **self.account.totals()
        )
        return sampleset
