"""Fixtures of the sampler tests."""

import pytest

from qaaan.samplers.composites import retry


@pytest.fixture
def delays(monkeypatch) -> list[float]:
    """The backoff delays the retries waited (recorded, not slept)."""
    waited: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", waited.append)
    return waited
