"""Scenarios against one real Airflow deployment, run in file order (the secret scan comes last).

Every scenario asserts its outcome through Airflow's REST API, the metadata DB, the logs and the
simulator's own view of the jobs; none just runs something.
"""

from __future__ import annotations

import time

import pytest
from vidjobs_e2e.report import ScenarioResult
from vidjobs_e2e.stack import E2EStack
from vidjobs_e2e.waits import WaitsRun


def _ensure_triggerer(stack: E2EStack) -> None:
    """Scenarios start with at least one live triggerer (an earlier one may have killed it)."""
    if not stack.live_triggerers():
        stack.start_triggerer()


def _assert_polling_stopped(run: WaitsRun, settle_s: float = 12) -> None:
    """After the run, no trigger (e.g. an orphan of a killed triggerer) still polls these jobs."""
    before = run.sim_requests()
    time.sleep(settle_s)
    after = run.sim_requests()
    moved = {job: (before[job]["requests"], after[job]["requests"]) for job in before if before[job] != after[job]}
    assert not moved, f"{run.label}: jobs still polled after the run ended (before, after): {moved}"


@pytest.mark.scenario("smoke: standard deferral through triggerer")
def test_smoke_deferral(stack: E2EStack, scenario: ScenarioResult) -> None:
    """A deferrable sensor from the standard provider resumes on a worker after the triggerer fires."""
    assert stack.rest is not None
    scenario.waits = 1
    run_id, state = stack.run_dag("e2e_smoke", timeout=180)
    tis = {ti["task_id"]: ti for ti in stack.rest.task_instances("e2e_smoke", run_id)}
    assert state == "success", tis
    assert {t: ti["state"] for t, ti in tis.items()} == {
        "produce": "success",
        "wait_deferred": "success",
        "consume": "success",
    }
    assert tis["wait_deferred"]["try_number"] == 1
    log = stack.rest.task_log("e2e_smoke", run_id, "wait_deferred")
    assert log.count("Pausing task as DEFERRED") == 1, "the sensor did not defer exactly once"
    value = stack.rest.xcom("e2e_smoke", run_id, "consume")
    assert value == {"got": {"answer": 42, "nested": {"a": 1, "b": 2}, "items": ["x", "y"]}, "ok": True}


@pytest.mark.scenario("triggerer killed (kill -9) mid-wait")
def test_triggerer_killed_mid_wait(stack: E2EStack, scenario: ScenarioResult) -> None:
    """50 deferred waits; half the jobs end, the triggerer is SIGKILLed while firing, a new one takes over."""
    _ensure_triggerer(stack)
    run = WaitsRun.mixed(stack, 50, "triggerer_killed")
    scenario.waits = len(run)
    run.trigger()
    ramp = run.wait_all_deferred(timeout=400)
    scenario.notes.append(f"all {len(run)} waits deferred {ramp:.0f}s after the run started")
    [old] = stack.live_triggerers()
    old_job = stack.triggerer_jobs[old.name]
    assert run.trigger_assignment() == {old_job: len(run)}

    first, second = run.waits[:25], run.waits[25:]
    run.finish(first)
    time.sleep(1.5)  # about half of these get polled and fired before the kill: it lands mid-firing
    stack.kill_triggerer(old)
    new = stack.start_triggerer()
    new_job = stack.triggerer_jobs[new.name]

    # The dead triggerer's triggers move to the new one (after triggerer_health_check_threshold).
    def taken_over() -> bool:
        assignment = run.trigger_assignment()
        return bool(assignment) and set(assignment) == {new_job}

    deadline = time.monotonic() + 120
    while not taken_over():
        assert time.monotonic() < deadline, f"triggers never moved to the new triggerer: {run.trigger_assignment()}"
        time.sleep(1)
    still_waiting = sum(run.trigger_assignment().values())
    scenario.notes.append(f"{still_waiting} triggers taken over by the new triggerer")
    assert still_waiting >= len(second), "the second half should still be waiting"

    run.finish(second)
    state = run.wait_done(timeout=300)
    run.verify_succeeded()
    run.verify_each_resumed_once()
    assert state == "success"
    _assert_polling_stopped(run)
