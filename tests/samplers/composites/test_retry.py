"""Timeouts, retries with backoff, the fallback sampler and the QPU's costs, on a fake QPU that
fails or hangs on its first calls, as a cloud solver does when it is offline. No network."""

from __future__ import annotations

import logging
import threading

import dimod
import dimod.testing
import pytest
from dwave.cloud.exceptions import SolverAuthenticationError, SolverOfflineError

from qaaan import samplers
from qaaan.errors import ConfigError
from qaaan.samplers.composites.retry import QPUAccount, RetryComposite, RetryPolicy

QPU_ACCESS_MICROSECONDS = 8000.0
BQM = dimod.BinaryQuadraticModel({0: 0.1, 1: -0.2}, {(0, 1): 0.3}, 0.0, dimod.SPIN)


class FlakyQPU(dimod.Sampler):
    """Random reads that cost 8 ms of QPU time, after `failures` calls that raise `error` (or
    hang, when `hang` is set)."""

    def __init__(self, failures: int, error: Exception | None = None, hang: bool = False):
        self.failures, self.hang, self.calls = failures, hang, 0
        self.error = error or SolverOfflineError("solver is offline")
        self.seen: list[dict] = []

    @property
    def parameters(self) -> dict:
        return {"num_reads": [], "annealing_time": []}

    @property
    def properties(self) -> dict:
        return {}

    def sample(self, bqm, **parameters):
        self.calls += 1
        self.seen.append(parameters)
        if self.calls <= self.failures:
            if self.hang:
                threading.Event().wait(60)  # abandoned by the timeout
            raise self.error
        sampleset = dimod.RandomSampler().sample(bqm, num_reads=parameters.get("num_reads", 1))
        sampleset.info["timing"] = {"qpu_access_time": QPU_ACCESS_MICROSECONDS}
        return sampleset


def _retrying(qpu, retries=3, timeout=None, fallback=None, **options) -> RetryComposite:
    policy = RetryPolicy(timeout=timeout, retries=retries, backoff=1.0)
    gibbs = samplers.make(fallback, seed=0) if fallback else None
    return RetryComposite(qpu, policy, fallback=gibbs, **options)


def test_api():
    sampler = _retrying(FlakyQPU(failures=0))
    dimod.testing.assert_composite_api(sampler)
    dimod.testing.assert_sampler_api(sampler)


def test_transient_failures_are_retried_with_doubling_backoff(delays):
    qpu = FlakyQPU(failures=2)
    sampleset = _retrying(qpu).sample(BQM, num_reads=50)
    assert len(sampleset) == 50
    assert qpu.calls == 3 and delays == [1.0, 2.0]
    assert [f.split(":")[0] for f in sampleset.info["retried"]] == ["SolverOfflineError"] * 2
    assert sampleset.info["qpu_failures"] == 2 and sampleset.info["fallback_calls"] == 0
    assert sampleset.info["qpu_access_seconds"] == pytest.approx(0.008)


def test_a_hanging_call_is_abandoned_after_the_timeout_and_retried(delays):
    qpu = FlakyQPU(failures=1, hang=True)
    sampleset = _retrying(qpu, timeout=0.5).sample(BQM, num_reads=20)
    assert len(sampleset) == 20 and qpu.calls == 2 and delays == [1.0]
    assert sampleset.info["retried"] == ["TimeoutError: no answer within 0.5 s"]


def test_without_fallback_a_dead_qpu_is_one_clear_error(delays):
    with pytest.raises(ConfigError) as raised:
        _retrying(FlakyQPU(failures=99), retries=2).sample(BQM, num_reads=10)
    message = str(raised.value)
    assert "failed 3 tries" in message and "SolverOfflineError" in message
    assert "fallback" in message and "\n" not in message
    assert delays == [1.0, 2.0]


def test_the_fallback_draws_the_model_when_the_qpu_is_down_and_says_so(delays, caplog):
    sampler = _retrying(FlakyQPU(failures=99), retries=1, fallback="gibbs")
    with caplog.at_level(logging.WARNING, logger="qaaan"):
        sampleset = sampler.sample(BQM, num_reads=30, annealing_time=20.0)
    assert len(sampleset) == 30 and sampleset.variables == BQM.variables
    assert sampleset.info["fallback"] == "gibbs" and sampleset.info["fallback_calls"] == 1
    assert sampleset.info["qpu_failures"] == 2
    assert "the fallback sampler gibbs draws instead" in caplog.text


def test_errors_that_are_not_transient_are_raised_at_once(delays):
    qpu = FlakyQPU(failures=1, error=ValueError("problem has an unknown variable"))
    with pytest.raises(ValueError, match="unknown variable"):
        _retrying(qpu, fallback="gibbs").sample(BQM, num_reads=10)
    assert qpu.calls == 1 and delays == []
    refused = FlakyQPU(failures=1, error=SolverAuthenticationError("token revoked"))
    with pytest.raises(ConfigError, match="the QPU refused the call: SolverAuthenticationError"):
        _retrying(refused, fallback="gibbs").sample(BQM, num_reads=10)
    assert refused.calls == 1 and delays == []


def test_after_a_failure_the_fallback_draws_for_a_while_before_the_qpu_is_tried_again(delays):
    qpu = FlakyQPU(failures=2)
    sampler = _retrying(qpu, retries=1, fallback="gibbs", fallback_for=3)
    for _ in range(4):  # the failed call, then 3 calls that do not try the QPU
        assert sampler.sample(BQM, num_reads=10).info["fallback"] == "gibbs"
    assert qpu.calls == 2 and sampler.account.fallback_calls == 4
    assert "fallback" not in sampler.sample(BQM, num_reads=10).info
    assert qpu.calls == 3


def test_the_qpu_parameters_go_to_the_qpu_every_try(delays):
    qpu = FlakyQPU(failures=1)
    _retrying(qpu).sample(BQM, num_reads=5, annealing_time=20.0)
    assert qpu.seen == [{"num_reads": 5, "annealing_time": 20.0}] * 2


def test_composites_that_share_an_account_total_the_costs_of_one_qpu(delays):
    account = QPUAccount()
    first = _retrying(FlakyQPU(failures=1), account=account)
    second = _retrying(FlakyQPU(failures=0), account=account)
    first.sample(BQM, num_reads=10)
    info = second.sample(BQM, num_reads=10).info
    assert info["qpu_access_seconds"] == pytest.approx(0.016) and info["qpu_failures"] == 1
