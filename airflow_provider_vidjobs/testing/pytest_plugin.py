"""pytest plugin (auto-loaded through the ``pytest11`` entry point): the ``vidjobs_simulator`` fixture.

One simulator per test session on a free port, in a background thread; each test gets the handle
after ``POST /_sim/reset`` (no jobs, no faults, default keys, zero counters, normal clock).
Imports nothing heavy until the fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator import SimulatorHandle


@pytest.fixture(scope="session")
def vidjobs_simulator_session() -> Iterator[SimulatorHandle]:
    """The session's simulator (state shared between tests: prefer ``vidjobs_simulator``)."""
    from airflow_provider_vidjobs.testing.simulator import start_simulator

    handle = start_simulator()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def vidjobs_simulator(vidjobs_simulator_session: SimulatorHandle) -> SimulatorHandle:
    """The session's simulator, reset for this test (and the triggers' connection cache emptied with it)."""
    from airflow_provider_vidjobs.http import settings_cache

    vidjobs_simulator_session.reset()
    settings_cache.clear()
    return vidjobs_simulator_session
