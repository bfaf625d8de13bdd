"""Every registered video API waits through a deferrable VideoJobSensor in dag.test() (the registry's
promise: a new API gets this by registering). XComs are compared with the simulator's own view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_vidjobs.hooks.registry import HOOKS
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

pytestmark = pytest.mark.dagtest


@pytest.fixture(scope="module")
def run(dag_runner: Callable[..., Any], vidjobs_simulator_session: SimulatorHandle) -> Any:
    vidjobs_simulator_session.reset()
    return dag_runner("vidjobs_every_api")


@pytest.mark.parametrize("api", sorted(HOOKS))
def test_the_api_waits_deferred_and_hands_on_the_simulators_job(
    run: Any, api: str, vidjobs_simulator_session: SimulatorHandle, matches_simulator: Callable[..., None]
) -> None:
    assert run.states[f"job_{api}"] == "success"
    assert run.states[f"wait_{api}"] == "success", run.failures.get(f"wait_{api}")
    job_id = run.xcom(f"job_{api}")
    assert job_id in run.triggered_job_ids(), f"{api}: the sensor did not defer to the trigger"
    view = vidjobs_simulator_session.control.job(job_id)
    assert view["phase"] == "completed"
    xcom = run.xcom(f"wait_{api}")
    matches_simulator(xcom, view)
    assert xcom["progress"] == 100
    assert xcom["video"]["url"], f"{api}: a succeeded job with no video URL"
