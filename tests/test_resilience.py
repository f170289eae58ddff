"""QPU resilience: timeouts, retries with backoff, the fallback sampler, QPU time accounting.

The QPU is a fake: a mock 2000Q (dwave-system's MockDWaveSampler) that fails or hangs on its
first calls, as a cloud solver does when it is offline or the network is down. No network.
"""

from __future__ import annotations

import logging
import threading

import dimod
import dwave.system
import pytest
import torch
from dwave.cloud.exceptions import SolverAuthenticationError, SolverOfflineError

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError
from qaaan.loop import Trainer
from qaaan.samplers import resilient
from qaaan.samplers.hardware import QPUSampler, mock_2000q
from qaaan.settings import TrainSettings


class FlakyQPU(dimod.Sampler):
    """A mock 2000Q whose first `failures` calls raise `error`, or hang when `hang` is set."""

    def __init__(self, failures: int, error: Exception | None = None, hang: bool = False):
        device = samplers.make("gibbs", seed=0, sweeps=20, burn_in=0)
        self.device = mock_2000q(0.0, 0, device, substitute_kwargs={})
        self.failures, self.hang, self.calls = failures, hang, 0
        self.error = error or SolverOfflineError("solver is offline")

    @property
    def properties(self) -> dict:
        return self.device.properties

    @property
    def parameters(self) -> dict:
        return self.device.parameters

    def to_networkx_graph(self):
        return self.device.to_networkx_graph()

    def sample(self, bqm, **parameters):
        self.calls += 1
        if self.calls <= self.failures:
            if self.hang:
                threading.Event().wait(60)  # abandoned by the timeout
            raise self.error
        return self.device.sample(bqm, **parameters)


@pytest.fixture
def delays(monkeypatch) -> list[float]:
    """The backoff delays the retries waited (recorded, not slept)."""
    waited: list[float] = []
    monkeypatch.setattr(resilient.time, "sleep", waited.append)
    return waited


def _machine() -> BoltzmannMachine:
    return BoltzmannMachine(topology.make("chimera", 16), seed=0)


def _sampler(qpu: FlakyQPU, retries: int = 3, timeout: float | None = None, **fallback):
    """A QPU sampler on `qpu` (backoff 1 s, recorded by `delays`)."""
    retry = resilient.RetryPolicy(timeout=timeout, retries=retries, backoff=1.0)
    return QPUSampler(qpu, seed=0, auto_scale=False, qpu_parameters={}, retry=retry, **fallback)


def test_transient_failures_are_retried_with_doubling_backoff(delays):
    qpu = FlakyQPU(failures=2)
    sampler = _sampler(qpu)
    spins = sampler.sample(_machine(), 50)
    assert spins.shape == (50, 16) and set(spins.unique().tolist()) <= {-1.0, 1.0}
    assert qpu.calls == 3 and delays == [1.0, 2.0]
    assert [f.split(":")[0] for f in sampler.info["retried"]] == ["SolverOfflineError"] * 2
    assert sampler.info["qpu_failures"] == 2 and sampler.info["fallback_calls"] == 0
    assert sampler.info["qpu_access_seconds"] > 0


def test_a_hanging_call_is_abandoned_after_the_timeout_and_retried(delays):
    qpu = FlakyQPU(failures=1, hang=True)
    sampler = _sampler(qpu, timeout=0.5)
    assert sampler.sample(_machine(), 20).shape == (20, 16)
    assert qpu.calls == 2 and delays == [1.0]
    assert sampler.info["retried"] == ["TimeoutError: no answer within 0.5 s"]


def test_without_fallback_a_dead_qpu_is_one_clear_error(delays):
    sampler = _sampler(FlakyQPU(failures=99), retries=2)
    with pytest.raises(ConfigError) as raised:
        sampler.sample(_machine(), 10)
    message = str(raised.value)
    assert "failed 3 tries" in message and "SolverOfflineError" in message
    assert "fallback" in message and "\n" not in message
    assert delays == [1.0, 2.0]


def test_the_fallback_sampler_draws_when_the_qpu_is_down_and_says_so(delays, caplog):
    sampler = _sampler(FlakyQPU(failures=99), retries=1, fallback="gibbs")
    with caplog.at_level(logging.WARNING, logger="qaaan"):
        spins = sampler.sample(_machine(), 30)
    assert spins.shape == (30, 16)
    assert sampler.info["fallback"] == "gibbs" and sampler.info["fallback_calls"] == 1
    assert sampler.info["qpu_failures"] == 2
    assert "the fallback sampler gibbs draws instead" in caplog.text


def test_errors_that_are_not_transient_are_raised_at_once(delays):
    qpu = FlakyQPU(failures=1, error=ValueError("problem has an unknown variable"))
    with pytest.raises(ValueError, match="unknown variable"):
        _sampler(qpu, fallback="gibbs").sample(_machine(), 10)
    assert qpu.calls == 1 and delays == []
    refused = FlakyQPU(failures=1, error=SolverAuthenticationError("token revoked"))
    with pytest.raises(ConfigError, match="the QPU refused the call: SolverAuthenticationError"):
        _sampler(refused, fallback="gibbs").sample(_machine(), 10)
    assert refused.calls == 1 and delays == []


def test_after_a_failure_the_fallback_draws_for_a_while_before_the_qpu_is_tried_again(delays):
    qpu = FlakyQPU(failures=2)
    sampler = _sampler(qpu, retries=1, fallback="gibbs", fallback_for=3)
    machine = _machine()
    for _ in range(4):  # the failed call, then 3 calls that do not try the QPU
        sampler.sample(machine, 10)
        assert sampler.info["fallback"] == "gibbs"
    assert qpu.calls == 2 and sampler.info["fallback_calls"] == 4
    sampler.sample(machine, 10)
    assert qpu.calls == 3 and "fallback" not in sampler.info


def test_qpu_time_and_failures_are_totalled_over_a_run_and_survive_resume(delays):
    sampler = _sampler(FlakyQPU(failures=1))
    machine = _machine()
    sampler.sample(machine, 10)
    once = sampler.info["qpu_access_seconds"]
    sampler.sample(machine, 10)
    assert sampler.info["qpu_access_seconds"] == pytest.approx(2 * once)
    resumed = _sampler(FlakyQPU(failures=0))
    resumed.load_state_dict(sampler.state_dict())
    resumed.sample(machine, 10)
    assert resumed.info["qpu_access_seconds"] == pytest.approx(3 * once)
    assert resumed.info["qpu_failures"] == 1


def test_the_dwave_sampler_takes_the_resilience_options(monkeypatch, delays):
    monkeypatch.setenv("DWAVE_API_TOKEN", "not-a-real-token")
    monkeypatch.setattr(dwave.system, "DWaveSampler", lambda **config: FlakyQPU(failures=99))
    sampler = samplers.make("dwave", retries=1, backoff=0.5, fallback="gibbs", seed=0)
    assert sampler.sample(_machine(), 10).shape == (10, 16)
    assert sampler.info["fallback"] == "gibbs" and delays == [0.5]
    with pytest.raises(ConfigError, match="timeout must be seconds > 0 or None, got -1"):
        samplers.make("dwave", timeout=-1)
    with pytest.raises(ConfigError, match="fallback_options given without a fallback"):
        samplers.make("dwave", fallback_options={"beta": 2.0})


def test_training_logs_the_qpu_access_time(tmp_path):
    config = TrainSettings(
        dataset="mnist-10k", latent=16, sampler="mock-dwave", bm_samples=32, width=4,
        batch_size=8, iterations=2, out=str(tmp_path / "run"),
    )  # fmt: skip
    result = Trainer(config).run()
    assert result["qpu_access_seconds"] > 0 and result["qpu_failures"] == 0
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["prior"]["sampler"][
        "totals"
    ]["qpu_access_seconds"] == pytest.approx(result["qpu_access_seconds"])
