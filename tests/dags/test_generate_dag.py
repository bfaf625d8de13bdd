"""Every registered API that can create generates a video through a deferred GenerateVideoOperator in
dag.test() (dagfiles/vidjobs_generate.py): the task succeeds, its XCom is the simulator's job, one job is
paid for per request, and the wait went through the trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

pytestmark = pytest.mark.dagtest

CREATE_APIS = sorted(api for api in HOOKS if hook_class(api).can_create)


@pytest.fixture(scope="module")
def run(dag_runner: Callable[..., Any], vidjobs_simulator_session: SimulatorHandle) -> Any:
    vidjobs_simulator_session.reset()
    result = dag_runner("vidjobs_generate")
    return result, vidjobs_simulator_session.control.stats()


@pytest.mark.parametrize("api", CREATE_APIS)
def test_the_api_generates_deferred_and_hands_on_the_simulators_job(
    run: Any, api: str, vidjobs_simulator_session: SimulatorHandle, matches_simulator: Callable[..., None]
) -> None:
    result, _ = run
    task_id = f"generate_{api}"
    assert result.states[task_id] == "success", result.failures.get(task_id)
    job_id = result.xcom(task_id, "job_id")
    assert job_id in result.triggered_job_ids(), f"{api}: the operator did not defer to the trigger"
    view = vidjobs_simulator_session.control.job(job_id)
    assert view["phase"] == "completed"
    xcom = result.xcom(task_id)
    assert xcom["job_id"] == job_id
    matches_simulator(xcom, view)


def test_one_job_is_paid_for_per_request(run: Any) -> None:
    result, stats = run
    assert result.failures == {}
    assert stats["creates"]["total"] == len(CREATE_APIS)
    assert set(stats["creates"]["by_fingerprint"].values()) == {1}
