"""Scenarios against one real Airflow deployment, run in file order (the secret scan comes last)."""

from __future__ import annotations

import pytest
from vidjobs_e2e.report import ScenarioResult
from vidjobs_e2e.stack import E2EStack


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
