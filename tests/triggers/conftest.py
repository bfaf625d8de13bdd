"""Fixtures for the trigger tests: the simulator with every registered API's connection defined as env vars."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator import SimulatorHandle


@pytest.fixture
def sim(vidjobs_simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SimulatorHandle:
    """The reset simulator, with every registered API's ``<conn type>_default`` pointing at it."""
    for name, value in vidjobs_simulator.airflow_connections().items():
        monkeypatch.setenv(name, value)
    return vidjobs_simulator
