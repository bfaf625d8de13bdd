"""VideoJobSensor through dag.test() (dagfiles/vidjobs_sensor_modes.py): poke, reschedule and deferrable
modes, a job already done, a failed job, timeouts with and without soft_fail, and status_overrides.

One DAG run holds every case (a run costs several seconds); the tests below each check one aspect of
it. XComs are read from the metadata DB and compared with the simulator's own view of each job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

pytestmark = pytest.mark.dagtest


@dataclass
class SensorRun:
    result: Any  # conftest.DagRunResult
    #: the simulator's counters right after the run
    stats: dict[str, Any]
    #: job creator task id without "job_" -> the simulator's control view of that job
    views: dict[str, dict[str, Any]]
    keys: tuple[str, str]

    def requests(self, job: str) -> int:
        return int(self.stats["jobs"][self.views[job]["id"]]["requests"])


@pytest.fixture(scope="module")
def run(dag_runner: Callable[..., Any], vidjobs_simulator_session: SimulatorHandle) -> SensorRun:
    sim = vidjobs_simulator_session
    sim.reset()
    result = dag_runner("vidjobs_sensor_modes")
    stats = sim.control.stats()
    views = {
        task_id.removeprefix("job_"): sim.control.job(result.xcom(task_id))
        for task_id in result.states
        if task_id.startswith("job_") and result.states[task_id] == "success"
    }
    return SensorRun(result, stats, views, (sim.tensorpix_key, sim.aihubmix_key))


def test_every_task_ends_as_expected(run: SensorRun) -> None:
    states = run.result.states
    assert {task_id: state for task_id, state in states.items() if not task_id.startswith("job_")} == {
        "poke": "success",
        "reschedule": "success",
        "defer": "success",
        "defer_end": "success",
        "start_trigger": "success",
        "done": "success",
        "failed_defer": "failed",
        "failed_poke": "failed",
        "override": "success",
        "timeout_defer": "failed",
        "timeout_defer_soft": "skipped",
        "timeout_poke_soft": "skipped",
    }
    assert {state for task_id, state in states.items() if task_id.startswith("job_")} == {"success"}


@pytest.mark.parametrize("task_id", ["poke", "reschedule", "defer", "done", "defer_end", "start_trigger"])
def test_xcom_is_the_simulators_view_of_the_job(
    run: SensorRun, matches_simulator: Callable[..., None], task_id: str
) -> None:
    view = run.views[task_id]
    assert view["phase"] == "completed"
    matches_simulator(run.result.xcom(task_id), view)


def test_each_mode_waited_its_own_way(run: SensorRun) -> None:
    deferred = run.result.triggered_job_ids()
    reschedules = run.result.reschedules
    # poke: several checks within one try, never rescheduled, never deferred
    assert run.requests("poke") >= 2
    assert reschedules["poke"] == 0
    assert run.views["poke"]["id"] not in deferred
    # reschedule: gave the worker slot back between checks, one check per try
    assert reschedules["reschedule"] >= 1
    assert run.requests("reschedule") == reschedules["reschedule"] + 1
    assert run.views["reschedule"]["id"] not in deferred
    # deferrable: one check in the task, the rest in the trigger
    assert run.views["defer"]["id"] in deferred
    assert reschedules["defer"] == 0
    assert run.requests("defer") >= 2


@pytest.mark.parametrize("task_id", ["defer_end", "start_trigger"])
def test_the_trigger_carried_end_from_trigger(run: SensorRun, task_id: str) -> None:
    view = run.views[task_id]
    assert view["id"] in run.result.triggered_job_ids()
    assert [kw["end_from_trigger"] for kw in run.result.trigger_kwargs if kw["job_id"] == view["id"]] == [True]


def test_job_already_done_never_defers(run: SensorRun) -> None:
    assert run.views["done"]["id"] not in run.result.triggered_job_ids()
    assert run.requests("done") == 1


@pytest.mark.parametrize("task_id", ["failed_defer", "failed_poke"])
def test_failed_job_fails_the_task_with_the_vendors_code_and_message(run: SensorRun, task_id: str) -> None:
    view = run.views["failing"]
    failure = run.result.failures[task_id]
    assert failure["type"] == "JobFailedError"
    assert view["vendor"]["error"]["code"] in failure["message"]
    assert view["vendor"]["error"]["message"] in failure["message"]
    assert view["id"] in failure["message"]


def test_timeout_fails_the_sensor_and_soft_fail_skips_it(run: SensorRun) -> None:
    failures = run.result.failures
    assert failures["timeout_defer"]["type"] == "AirflowSensorTimeout"
    assert "deadline" in failures["timeout_defer"]["message"]
    assert run.result.states["timeout_defer_soft"] == "skipped"
    assert run.result.states["timeout_poke_soft"] == "skipped"
    assert "timeout_defer_soft" not in failures
    assert "timeout_poke_soft" not in failures


def test_status_overrides_end_the_wait_on_an_unusual_status(
    run: SensorRun, matches_simulator: Callable[..., None]
) -> None:
    view = run.views["unusual"]
    assert view["vendor"]["status"] == "exported_to_cdn"
    # With the override the wait ended, and the trigger carried the mapping ...
    matches_simulator(run.result.xcom("override"), view, status="succeeded")
    overrides = [kw["status_overrides"] for kw in run.result.trigger_kwargs if kw["job_id"] == view["id"]]
    assert {"exported_to_cdn": "succeeded"} in overrides
    # ... while without it the same job looked unfinished until the sensor timed out.
    assert view["id"] in run.result.failures["timeout_defer"]["message"]


def test_trigger_rows_hold_no_key(run: SensorRun) -> None:
    assert run.result.stored_trigger_kwargs
    for stored in run.result.stored_trigger_kwargs:
        for key in run.keys:
            assert key not in stored
