"""Fixtures for running operators directly (outside dag.test()) against the simulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator import SimulatorHandle


@pytest.fixture
def sim(vidjobs_simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SimulatorHandle:
    """The reset simulator, with ``tensorpix_default`` and ``aihubmix_default`` pointing at it."""
    for name, value in vidjobs_simulator.airflow_connections().items():
        monkeypatch.setenv(name, value)
    return vidjobs_simulator


class RecordingTaskInstance:
    """The one thing operators ask of ``context["ti"]`` outside a DAG run: to keep their XComs."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.fixture
def context() -> dict[str, Any]:
    """A minimal task context for ``operator.execute(context)``."""
    return {"ti": RecordingTaskInstance(), "outlet_events": {}}
