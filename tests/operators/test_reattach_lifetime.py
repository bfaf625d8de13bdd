"""How long a re-attach record kept in a Variable (Airflow 3.1/3.2) is honoured: 30 days, on a frozen clock.

A record forgotten too early makes a retry pay for a second job; so the lifetime is checked against
calendar days here, not against the module's own constant.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_vidjobs import reattach

DAY = 24 * 3600.0
WRITTEN = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakeVariables:
    """The SDK ``Variable`` class surface the store uses."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: str, description: str | None = None) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock(WRITTEN)
    monkeypatch.setattr(reattach.time, "time", frozen.time)
    return frozen


def saved(clock: Clock) -> tuple[reattach.VariableStore, FakeVariables]:
    variables = FakeVariables()
    store = reattach.VariableStore("vidjobs_reattach__abc", variables)
    store.save(reattach.new_record("fp", "aihubmix", "video_1"))
    return store, variables


@pytest.mark.parametrize("age_days", [0, 1, 7, 29, 29.9])
def test_a_record_younger_than_30_days_is_honoured(clock: Clock, age_days: float) -> None:
    store, variables = saved(clock)
    clock.now = WRITTEN + age_days * DAY
    record = store.load()
    assert record is not None
    assert (record.job_id, record.fingerprint, record.provider) == ("video_1", "fp", "aihubmix")
    assert record.written_at == WRITTEN
    assert store.key in variables.values  # still there for the next retry


@pytest.mark.parametrize("age_days", [30.1, 31, 90])
def test_a_record_older_than_30_days_is_forgotten_and_deleted(clock: Clock, age_days: float) -> None:
    store, variables = saved(clock)
    clock.now = WRITTEN + age_days * DAY
    assert store.load() is None
    assert store.key not in variables.values


def test_the_record_stores_when_it_was_written(clock: Clock) -> None:
    _, variables = saved(clock)
    stored = json.loads(variables.values["vidjobs_reattach__abc"])
    assert stored["written_at"] == WRITTEN
    assert stored["job_id"] == "video_1"


def test_a_record_without_a_time_is_not_honoured_forever(clock: Clock) -> None:
    """A record with no (or a non-numeric) ``written_at`` counts as written at the epoch: long expired."""
    store, variables = saved(clock)
    record = json.loads(variables.values[store.key])
    for written_at in (None, "yesterday"):
        variables.values[store.key] = json.dumps({**record, "written_at": written_at})
        assert store.load() is None
