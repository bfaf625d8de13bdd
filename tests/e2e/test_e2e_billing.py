"""Money scenarios (issue 14) in the real deployment: retries and clears pay for one video, a changed request
for a second, and ``cancel_on_kill`` stops a job on a user's kill but never on a triggerer kill.

Named so that it runs before test_e2e_deployment.py, whose secret scan (last) then covers these runs too.
Paid jobs are counted twice: the simulator's jobs whose prompt is this run's, and the change in its
``creates.total`` counter (accepted create requests) over the scenario.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Any

import pytest
from vidjobs_e2e.processes import wait_until
from vidjobs_e2e.report import ScenarioResult
from vidjobs_e2e.stack import E2EStack

LONG = {"queued_s": 0, "running_s": 25}


def _prompt(label: str) -> str:
    return f"e2e billing {label} {uuid.uuid4().hex[:8]}"


def _paid_total(stack: E2EStack) -> int:
    assert stack.sim is not None
    return int(stack.sim.control.stats()["creates"]["total"])


def _jobs(stack: E2EStack, prompt: str) -> list[dict[str, Any]]:
    assert stack.sim is not None
    return [j for j in stack.sim.control.jobs(api="aihubmix") if str(j["vendor"].get("prompt", "")).startswith(prompt)]


def _polls(stack: E2EStack, job_id: str) -> int:
    """GETs of the job the simulator answered (the trigger's polls)."""
    assert stack.sim is not None
    endpoints = stack.sim.control.stats()["jobs"].get(job_id, {}).get("endpoints", {})
    return int(endpoints.get("GET /v1/videos/{video_id}", {}).get("requests", 0))


def _ti(stack: E2EStack, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    assert stack.rest is not None
    [ti] = stack.rest.task_instances(dag_id, run_id, task_id)
    return ti


def _wait_state(stack: E2EStack, dag_id: str, run_id: str, task_id: str, state: str, timeout: float = 120) -> None:
    wait_until(
        lambda: (stack.check(), _ti(stack, dag_id, run_id, task_id)["state"] == state)[1],
        timeout=timeout,
        what=f"{dag_id}.{task_id} to be {state}",
    )


def _trigger(stack: E2EStack, dag_id: str, prompt: str, sim: dict[str, Any]) -> str:
    assert stack.rest is not None
    stack.rest.wait_for_dags([dag_id], check=stack.check)
    stack.rest.unpause(dag_id)
    return stack.rest.trigger(dag_id, {"prompt": prompt, "sim": sim})


def _clear(stack: E2EStack, dag_id: str, run_id: str, task_ids: list[str]) -> None:
    assert stack.rest is not None
    resp = stack.rest.http.post(
        f"/dags/{dag_id}/clearTaskInstances",
        json={
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "only_failed": False,
            "reset_dag_runs": True,
        },
    )
    assert resp.status_code < 300, resp.text


def _mark(stack: E2EStack, dag_id: str, run_id: str, task_id: str, state: str) -> None:
    assert stack.rest is not None
    resp = stack.rest.http.patch(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": state})
    assert resp.status_code < 300, resp.text


def _assert_final(stack: E2EStack, dag_id: str, run_id: str, task_id: str, job_id: str, tries: int) -> None:
    assert stack.rest is not None
    ti = _ti(stack, dag_id, run_id, task_id)
    assert ti["state"] == "success", ti
    assert ti["try_number"] == tries, ti
    value = stack.rest.xcom(dag_id, run_id, task_id)
    assert value["job_id"] == job_id
    assert value["status"] == "succeeded"
    assert stack.rest.xcom(dag_id, run_id, task_id, key="job_id") == job_id


@pytest.mark.scenario("re-attach: worker task kill -9 mid-wait, retry")
def test_worker_killed_mid_wait_retry_re_attaches(stack: E2EStack, scenario: ScenarioResult) -> None:
    """(a) A non-deferrable create-and-wait whose task process is killed; try 2 waits on the same job."""
    dag_id, prompt, before = "e2e_reattach_worker_killed", _prompt("worker killed"), _paid_total(stack)
    scenario.waits = 1
    run_id = _trigger(stack, dag_id, prompt, {"queued_s": 0, "running_s": 20})
    wait_until(lambda: _jobs(stack, prompt), timeout=120, what="the create request")
    _wait_state(stack, dag_id, run_id, "create", "running")
    time.sleep(2)  # well inside the wait: the id is recorded right after the create
    pid = int(_ti(stack, dag_id, run_id, "create")["pid"])
    os.kill(pid, signal.SIGKILL)
    assert stack.rest is not None
    state = stack.rest.wait_run(dag_id, run_id, timeout=180, check=stack.check)
    assert state == "success"
    [job] = _jobs(stack, prompt)
    assert _paid_total(stack) - before == 1
    _assert_final(stack, dag_id, run_id, "create", job["id"], tries=2)
    assert "re-attaching to aihubmix job" in stack.rest.task_log(dag_id, run_id, "create", try_number=2)


@pytest.mark.scenario("lost create: worker kill -9 after the POST, before the id is recorded")
def test_worker_killed_before_the_id_was_recorded_pays_once(stack: E2EStack, scenario: ScenarioResult) -> None:
    """Issue 22: the vendor made the job, the answer never came back, the task process died; try 2 finds it."""
    assert stack.sim is not None
    assert stack.rest is not None
    dag_id, prompt, before = "e2e_reattach_lost_create", _prompt("lost create"), _paid_total(stack)
    scenario.waits = 1
    # The next create is committed, then its answer is held for 120 s (the task is killed long before).
    stack.sim.control.add_faults({"kind": "drop", "delay_s": 120, "api": "aihubmix", "method": "POST", "count": 1})
    try:
        run_id = _trigger(stack, dag_id, prompt, {"queued_s": 0, "running_s": 8})
        wait_until(lambda: _jobs(stack, prompt), timeout=120, what="the create request to reach the API")
        ti = _ti(stack, dag_id, run_id, "create")
        assert ti["state"] == "running", ti  # still waiting for the create's answer: no id recorded yet
        os.kill(int(ti["pid"]), signal.SIGKILL)
        state = stack.rest.wait_run(dag_id, run_id, timeout=240, check=stack.check)
    finally:
        stack.sim.control.clear_faults()
    assert state == "success"
    [job] = _jobs(stack, prompt)
    assert _paid_total(stack) - before == 1
    _assert_final(stack, dag_id, run_id, "create", job["id"], tries=2)
    assert "found the job it made" in stack.rest.task_log(dag_id, run_id, "create", try_number=2)


@pytest.mark.scenario("re-attach: deferred wait errors in an outage, retry")
def test_wait_that_errored_in_an_outage_retry_re_attaches(stack: E2EStack, scenario: ScenarioResult) -> None:
    """(b) The failure budget (3 s) runs out while the API is down (8 s); the retry, after it is back, re-attaches."""
    assert stack.sim is not None
    assert stack.rest is not None
    dag_id, prompt, before = "e2e_reattach_after_outage", _prompt("outage"), _paid_total(stack)
    scenario.waits = 1
    run_id = _trigger(stack, dag_id, prompt, LONG)
    _wait_state(stack, dag_id, run_id, "create", "deferred")
    stack.sim.control.outage(8)
    _wait_state(stack, dag_id, run_id, "create", "up_for_retry", timeout=60)
    state = stack.rest.wait_run(dag_id, run_id, timeout=180, check=stack.check)
    assert state == "success"
    [job] = _jobs(stack, prompt)
    assert _paid_total(stack) - before == 1
    _assert_final(stack, dag_id, run_id, "create", job["id"], tries=2)
    assert "gave up after" in stack.rest.task_log(dag_id, run_id, "create", try_number=1)


@pytest.mark.scenario("re-attach: clear of succeeded tasks (same / new prompt)")
def test_clear_of_a_succeeded_create(stack: E2EStack, scenario: ScenarioResult) -> None:
    """(c) A cleared, succeeded create returns its job again, unpaid; (d) one whose prompt changed pays again."""
    assert stack.rest is not None
    dag_id, prompt, before = "e2e_reattach_clear", _prompt("clear"), _paid_total(stack)
    scenario.waits = 4
    run_id = _trigger(stack, dag_id, prompt, {"queued_s": 0, "running_s": 4})
    assert stack.rest.wait_run(dag_id, run_id, timeout=180, check=stack.check) == "success"
    _clear(stack, dag_id, run_id, ["same_prompt", "new_prompt"])
    wait_until(lambda: _ti(stack, dag_id, run_id, "same_prompt")["try_number"] == 2, timeout=60, what="the clear")
    assert stack.rest.wait_run(dag_id, run_id, timeout=180, check=stack.check) == "success"

    [same] = _jobs(stack, f"{prompt} (same)")
    _assert_final(stack, dag_id, run_id, "same_prompt", same["id"], tries=2)
    takes = sorted(_jobs(stack, f"{prompt} (take"), key=lambda j: str(j["vendor"]["prompt"]))
    assert [j["vendor"]["prompt"] for j in takes] == [f"{prompt} (take 1)", f"{prompt} (take 2)"]
    _assert_final(stack, dag_id, run_id, "new_prompt", takes[1]["id"], tries=2)
    assert _paid_total(stack) - before == 3  # 1 for same_prompt (c), 2 for new_prompt (d)


@pytest.mark.scenario("cancel_on_kill: mark failed / triggerer kill -9")
def test_cancel_on_kill(stack: E2EStack, scenario: ScenarioResult) -> None:
    """Marked failed while deferred: the job stops within seconds. The triggerer killed: no job is cancelled."""
    assert stack.sim is not None
    assert stack.rest is not None
    dag_id = "e2e_cancel_on_kill"
    scenario.waits = 2
    killed_prompt = _prompt("mark failed")
    run_id = _trigger(stack, dag_id, killed_prompt, {"queued_s": 0, "running_s": 600})
    _wait_state(stack, dag_id, run_id, "create", "deferred")
    [job] = _jobs(stack, killed_prompt)
    # Deferred is not yet running in a triggerer: Airflow calls on_kill only for a trigger that runs.
    wait_until(lambda: _polls(stack, job["id"]) >= 1, timeout=60, what="the trigger's first poll")
    marked = time.monotonic()
    _mark(stack, dag_id, run_id, "create", "failed")
    wait_until(
        lambda: job["id"] in stack.sim.control.stats()["stopped_jobs"],  # type: ignore[union-attr]
        timeout=30,
        interval=0.25,
        what="the job to be deleted at the API",
    )
    scenario.notes.append(f"marked failed -> job stopped at the simulator in {time.monotonic() - marked:.1f} s")

    survivor_prompt = _prompt("triggerer killed")
    run_id = _trigger(stack, dag_id, survivor_prompt, {"queued_s": 0, "running_s": 20})
    _wait_state(stack, dag_id, run_id, "create", "deferred")
    [survivor] = _jobs(stack, survivor_prompt)
    time.sleep(2)
    for proc in stack.live_triggerers():
        stack.kill_triggerer(proc)
    stack.start_triggerer()
    assert stack.rest.wait_run(dag_id, run_id, timeout=180, check=stack.check) == "success"
    assert survivor["id"] not in stack.sim.control.stats()["stopped_jobs"]
    _assert_final(stack, dag_id, run_id, "create", survivor["id"], tries=1)
