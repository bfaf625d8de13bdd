"""Scenarios against one real Airflow deployment, run in file order (the secret scan comes last).

Every scenario asserts its outcome through Airflow's REST API, the metadata DB, the logs and the
simulator's own view of the jobs; none just runs something.
"""

from __future__ import annotations

import collections
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from vidjobs_e2e.lineage import outputs, read_events, run_facets
from vidjobs_e2e.report import ScenarioResult
from vidjobs_e2e.secrets_scan import (
    scan_db,
    scan_db_dump,
    scan_files,
    scan_files_for_signatures,
    signatures_in_xcoms,
)
from vidjobs_e2e.stack import E2EStack
from vidjobs_e2e.waits import Wait, WaitsRun, assert_matches_simulator

from airflow_provider_vidjobs.testing.simulator import synthetic_video_sha256

EXAMPLE_DAGS = ("tensorpix_wait_for_video", "aihubmix_generate_and_download", "fan_out_prompts")


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


def _succeeded(stack: E2EStack, dag_id: str, run_id: str) -> dict[tuple[str, int], dict[str, object]]:
    """All task instances of the run, asserting every one succeeded."""
    assert stack.rest is not None
    tis = {(str(t["task_id"]), int(t["map_index"])): t for t in stack.rest.task_instances(dag_id, run_id)}
    bad = {k: t["state"] for k, t in tis.items() if t["state"] != "success"}
    assert tis, f"{dag_id}: no task instances"
    assert not bad, f"{dag_id}: tasks not successful: {bad}"
    return tis


def _as_wait(api: str, job_id: str, map_index: int = -1) -> Wait:
    return Wait(map_index=map_index, conn_id=f"{api}_default", api=api, job_id=job_id)


@pytest.mark.scenario("example DAGs (3) in the deployment")
def test_example_dags(stack: E2EStack, scenario: ScenarioResult) -> None:
    """The shipped example DAGs run green and their XComs equal the simulator's view of each job."""
    assert stack.rest is not None
    assert stack.sim is not None
    _ensure_triggerer(stack)
    # OpenLineage on for this scenario only: while a listener is loaded, Airflow refuses to parse any DAG
    # with an end_from_trigger task (the triggerer-modes scenario's), in the dag-processor and in workers.
    stack.set_scheduler_lineage(True)
    try:
        _run_example_dags(stack, scenario)
    finally:
        stack.set_scheduler_lineage(False)


def _run_example_dags(stack: E2EStack, scenario: ScenarioResult) -> None:
    assert stack.rest is not None
    assert stack.sim is not None
    control = stack.sim.control
    out_dir = stack.work / "videos"
    timeline = {"queued_s": 3, "running_s": 20}  # long enough to defer on a slow machine
    rest = stack.rest
    for dag_id in EXAMPLE_DAGS:
        rest.wait_for_dags([dag_id], check=stack.check)
        rest.unpause(dag_id)

    tp_job = control.create_job("tensorpix", prompt="e2e example: tensorpix", sim=timeline)
    runs = {
        "tensorpix_wait_for_video": rest.trigger("tensorpix_wait_for_video", {"job_id": tp_job["id"]}),
        "aihubmix_generate_and_download": rest.trigger(
            "aihubmix_generate_and_download",
            {"prompt": "e2e example: aihubmix", "output_dir": f"{out_dir}/", "extra_params": {"sim": timeline}},
        ),
        "fan_out_prompts": rest.trigger(
            "fan_out_prompts",
            {
                "prompts": ["e2e fan-out 1", "e2e fan-out 2", "e2e fan-out 3"],
                "output_dir": f"{out_dir}/",
                "extra_params": {"sim": timeline},
            },
        ),
    }
    scenario.waits = 5
    for dag_id, run_id in runs.items():
        state = rest.wait_run(dag_id, run_id, timeout=300, check=stack.check)
        tis = _succeeded(stack, dag_id, run_id)
        assert state == "success", f"{dag_id}: run {state}"
        for (task_id, map_index), ti in tis.items():
            if task_id == "wait_for_video":
                log = rest.task_log(dag_id, run_id, task_id, map_index=map_index)
                assert "Pausing task as DEFERRED" in log, f"{dag_id}.{task_id}[{map_index}] never deferred"
                assert ti["try_number"] == 1

    # tensorpix_wait_for_video: the sensor's XCom is the simulator's job; summarize agrees.
    run_id = runs["tensorpix_wait_for_video"]
    job = rest.xcom("tensorpix_wait_for_video", run_id, "wait_for_video")
    assert_matches_simulator(job, control.job(tp_job["id"]), _as_wait("tensorpix", tp_job["id"]))
    summary = rest.xcom("tensorpix_wait_for_video", run_id, "summarize")
    assert summary["job_id"] == tp_job["id"]
    assert summary["status"] == "succeeded"

    # aihubmix_generate_and_download: created job == waited job == downloaded file.
    run_id = runs["aihubmix_generate_and_download"]
    job = rest.xcom("aihubmix_generate_and_download", run_id, "wait_for_video")
    created = rest.xcom("aihubmix_generate_and_download", run_id, "create_video", key="job_id")
    assert job["job_id"] == created
    view = control.job(job["job_id"])
    assert_matches_simulator(job, view, _as_wait("aihubmix", job["job_id"]))
    _check_download(rest.xcom("aihubmix_generate_and_download", run_id, "download_video"), view)
    _check_lineage(stack, run_id, job["job_id"], rest.xcom("aihubmix_generate_and_download", run_id, "download_video"))

    # fan_out_prompts: one job per prompt, each wait's XCom equals its job, each file downloaded.
    run_id = runs["fan_out_prompts"]
    waits = rest.xcoms("fan_out_prompts", run_id, "wait_for_video")
    downloads = rest.xcoms("fan_out_prompts", run_id, "download_video")
    assert sorted(waits) == [0, 1, 2], waits.keys()
    prompts = set()
    for map_index, job in waits.items():
        view = control.job(job["job_id"])
        assert_matches_simulator(job, view, _as_wait("aihubmix", job["job_id"], map_index))
        prompts.add(view["vendor"]["prompt"])
        _check_download(downloads[map_index], view)
    assert prompts == {"e2e fan-out 1", "e2e fan-out 2", "e2e fan-out 3"}


def _check_lineage(stack: E2EStack, run_id: str, job_id: str, download: dict[str, object]) -> None:
    """OpenLineage (file transport, every component): each task's COMPLETE event carries the vidjobs run
    facet with the job id (the wait's after its deferral: the resumed worker read it from XCom), and the
    download's names the file it wrote."""
    assert stack.lineage_dir is not None
    dag_id = "aihubmix_generate_and_download"
    events = read_events(stack.lineage_dir)
    for task_id in ("create_video", "wait_for_video", "download_video"):
        completes = run_facets(events, dag_id, task_id, "COMPLETE")
        assert completes, f"no COMPLETE event of {dag_id}.{task_id} in {stack.lineage_dir} (run {run_id})"
        facet = completes[-1].get("vidjobs")
        assert facet is not None, f"{task_id}: no vidjobs facet in {sorted(completes[-1])}"
        assert (facet["vendor"], facet["jobId"], facet["model"]) == ("aihubmix", job_id, "sora-2"), (task_id, facet)
    assert run_facets(events, dag_id, "wait_for_video", "COMPLETE")[-1]["vidjobs"]["status"] == "succeeded"
    assert ("file", str(download["path"])) in outputs(events, dag_id, "download_video", "COMPLETE")


def _check_download(download: dict[str, object], view: dict[str, object]) -> None:
    """The downloaded file exists and is byte-for-byte the simulator's video of this job."""
    path = Path(str(download["path"]))
    assert path.is_file(), f"downloaded file missing: {path}"
    timeline = view["timeline"]
    assert isinstance(timeline, dict)
    expected = synthetic_video_sha256(timeline.get("asset_size_bytes"), str(view["id"]))
    assert download["sha256"] == expected == hashlib.sha256(path.read_bytes()).hexdigest()
    assert download["bytes"] == path.stat().st_size


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
    # A trigger that fired just before the kill may fire again on the new triggerer (Airflow's triggers
    # are at-least-once); what must hold, one resumption per wait, is asserted above. Report it.
    reads = run.reads_after_end()
    never = [i for i, n in reads.items() if n < 1]
    assert not never, f"jobs never read after they ended, yet their waits resumed: {never}"
    twice = sum(1 for n in reads.values() if n > 1)
    scenario.notes.append(
        f"{twice} triggers fired on both triggerers (job read twice after its end); each wait resumed once"
    )
    _assert_polling_stopped(run)


@pytest.mark.scenario("two triggerers (HA), one killed mid-way")
def test_two_triggerers_ha(stack: E2EStack, scenario: ScenarioResult) -> None:
    """200 waits spread over two triggerers; each trigger fires once; one triggerer dies; all complete."""
    _ensure_triggerer(stack)
    while len(stack.live_triggerers()) < 2:
        stack.start_triggerer()
    run = WaitsRun.mixed(stack, 200, "ha")
    scenario.waits = len(run)
    run.trigger()
    ramp = run.wait_all_deferred(timeout=600)
    stack.snapshot_secrets("ha: 200 waits deferred")
    assignment = run.trigger_assignment()
    live = {stack.triggerer_jobs[p.name]: p for p in stack.live_triggerers()}
    scenario.notes.append(f"all deferred after {ramp:.0f}s; triggers per triggerer job: {assignment}")
    assert set(assignment) == set(live), f"triggers not spread over both triggerers: {assignment}"
    assert min(assignment.values()) >= len(run) // 10, f"one triggerer holds almost nothing: {assignment}"

    first, second = run.waits[:100], run.waits[100:]
    run.finish(first)
    run.wait_tasks_done(first, timeout=400)
    remaining = run.trigger_assignment()
    victim_job = max(remaining, key=lambda job: remaining[job] or 0)
    assert victim_job is not None
    survivor_job = next(job for job in live if job != victim_job)
    stack.kill_triggerer(live[victim_job])
    scenario.notes.append(
        f"killed triggerer job {victim_job} holding {remaining[victim_job]} of {sum(remaining.values())} waits"
    )

    deadline = time.monotonic() + 120
    while set(run.trigger_assignment()) != {survivor_job}:
        assert time.monotonic() < deadline, f"survivor never took over: {run.trigger_assignment()}"
        time.sleep(1)

    run.finish(second)
    state = run.wait_done(timeout=600)
    run.verify_succeeded()
    run.verify_each_resumed_once()
    # Exactly once, by the vendor's count: each job was read once after it ended (by the one trigger
    # that then fired), never by a second copy of its trigger on the other triggerer.
    reads = run.reads_after_end()
    wrong = {i: n for i, n in reads.items() if n != 1}
    assert not wrong, f"waits whose job was read != 1 time after it ended (map_index: reads): {wrong}"
    fired_lines = run.fired_counts()
    repeated = {i: n for i, n in fired_lines.items() if n > 1}
    assert not repeated, f"triggers that logged more than one fired event: {repeated}"
    firings = run.firings()
    per_triggerer = collections.Counter(on[0] if on else "unlogged" for on in firings.values())
    scenario.notes.append(
        f"each trigger fired once (1 read after the job ended); logged per triggerer: {dict(per_triggerer)}"
    )
    assert state == "success"
    _assert_polling_stopped(run)


@pytest.mark.scenario("API outage: 503 for 60 s mid-wait")
def test_api_outage(stack: E2EStack, scenario: ScenarioResult) -> None:
    """Every vendor request fails with 503 for 60 s while the waits are deferred; no task fails."""
    assert stack.sim is not None
    _ensure_triggerer(stack)
    run = WaitsRun.mixed(stack, 20, "outage")
    scenario.waits = len(run)
    run.trigger()
    run.wait_all_deferred(timeout=300)
    stack.sim.control.outage(60, status=503)
    outage_start = time.monotonic()
    time.sleep(20)
    run.finish(run.waits)  # the jobs end in the middle of the outage
    state = run.wait_done(timeout=300)
    took = time.monotonic() - outage_start
    run.verify_succeeded()
    run.verify_each_resumed_once()
    assert state == "success"
    assert took >= 60, f"run ended {took:.0f}s into a 60s outage: the waits cannot have seen it end"
    requests = run.sim_requests()
    unhurt = [job for job, c in requests.items() if c["statuses"].get("503", 0) == 0]
    assert not unhurt, f"jobs whose waits never met the outage: {unhurt}"
    total_503 = sum(c["statuses"].get("503", 0) for c in requests.values())
    scenario.notes.append(f"{total_503} polls answered 503; run ended {took:.0f}s after the outage began")


@pytest.mark.scenario("job failure + revoked key")
def test_job_failure_and_revoked_key(stack: E2EStack, scenario: ScenarioResult) -> None:
    """A failed job and a revoked key fail exactly their tasks with our errors; the others succeed."""
    assert stack.sim is not None
    assert stack.rest is not None
    _ensure_triggerer(stack)
    conns = [
        "tensorpix_default",
        "aihubmix_default",
        "tensorpix_revocable",
        "tensorpix_db",
        "tensorpix_revocable",
        "aihubmix_default",
        "tensorpix_default",
        "tensorpix_db",
    ]
    run = WaitsRun(stack, conns, "failures")
    scenario.waits = len(run)
    run.trigger()
    run.wait_all_deferred(timeout=300)
    stack.snapshot_secrets("failures: waits deferred")
    failing = [run.waits[0], run.waits[1]]  # one per API
    revoked = [w for w in run.waits if w.conn_id == "tensorpix_revocable"]
    healthy = [w for w in run.waits if w not in failing and w not in revoked]
    message = f"E2E vendor refusal {run.run_id[-10:]}: prompt blocked by policy"
    # TensorPix documents no error fields; its job also sends the DRF-style "error" object the hook reads.
    drift = {"kind": "drift", "extra": {"error": {"code": "e2e_policy_block", "message": message}}}
    stack.sim.control.add_job_faults(failing[0].job_id, drift)
    run.finish(failing, outcome="failed", error_code="e2e_policy_block", error_message=message)
    stack.sim.control.revoke_key("tensorpix", stack.sim.revocable_key)
    run.finish(healthy + revoked)  # the revoked waits can never see this: their key is refused
    state = run.wait_done(timeout=300)
    assert state == "failed"

    tis = run.tis()
    assert {w.map_index: tis[w.map_index]["state"] for w in failing + revoked} == {
        w.map_index: "failed" for w in failing + revoked
    }
    run.verify_succeeded(healthy)
    run.verify_each_resumed_once(healthy)
    for w in failing:
        log = stack.rest.task_log("e2e_video_waits", run.run_id, "wait", map_index=w.map_index)
        assert "JobFailedError" in log, f"{w}: our JobFailedError is not in the task log"
        assert "e2e_policy_block" in log, f"{w}: the vendor's error code is not in the task log"
        assert message in log, f"{w}: the vendor's error message is not in the task log"
    for w in revoked:
        log = stack.rest.task_log("e2e_video_waits", run.run_id, "wait", map_index=w.map_index)
        assert "AuthenticationError" in log, f"{w}: our AuthenticationError is not in the task log"
        assert "Invalid token." in log, f"{w}: the vendor's 401 message is not in the task log"
    scenario.notes.append(
        f"{len(failing)} failed jobs, {len(revoked)} revoked-key waits failed; {len(healthy)} succeeded"
    )


MODES_DAG = "e2e_triggerer_modes"
MODES_SENSORS = ("worker", "end", "start", "start_failed", "start_soft")
MODES_WITNESSED = (*MODES_SENSORS, "create_end")


def _witnessed(stack: E2EStack, run_id: str) -> dict[str, collections.Counter[str]]:
    """Per task of ``e2e_triggerer_modes``: how often a worker ran ``execute`` / ``execute_complete``."""
    seen: dict[str, collections.Counter[str]] = {task: collections.Counter() for task in MODES_WITNESSED}
    path = stack.completions_file
    for line in path.read_text().splitlines() if path.exists() else []:
        record = json.loads(line)
        if record.get("run_id") == run_id and record.get("kind"):
            seen[record["task_id"]][record["kind"]] += 1
    return seen


def _created_with_prompt(stack: E2EStack, prompt: str) -> list[dict[str, Any]]:
    """The simulator's AIHubMix jobs created with exactly this prompt (each one a paid job)."""
    assert stack.sim is not None
    return [j for j in stack.sim.control.jobs(api="aihubmix") if j["vendor"].get("prompt") == prompt]


def _modes_assignment(stack: E2EStack, run_id: str) -> dict[str, str | None]:
    """``{task_id: triggerer job id or None}`` of this run's deferred tasks, from the DB."""
    assert stack.pg is not None
    rows = stack.pg.psql(
        "airflow",
        "SELECT ti.task_id, coalesce(t.triggerer_id::text, 'none') FROM task_instance ti "
        f"JOIN trigger t ON t.id = ti.trigger_id WHERE ti.dag_id = '{MODES_DAG}' AND ti.run_id = '{run_id}'",
    )
    pairs = (line.partition("|") for line in rows.splitlines() if line)
    return {task: (None if job == "none" else job) for task, _, job in pairs}


@pytest.mark.scenario("triggerer modes: end / start+end in the triggerer, kill -9 mid-wait")
def test_waits_that_start_and_end_in_the_triggerer(stack: E2EStack, scenario: ScenarioResult) -> None:
    """end_from_trigger: no worker resume on success (sensor and create-and-wait); start_from_trigger: no
    worker at all; failures and soft-failed timeouts resume a worker as before; a triggerer killed
    mid-wait changes none of it, and the create pays for one job."""
    assert stack.sim is not None
    assert stack.rest is not None
    _ensure_triggerer(stack)
    control, rest = stack.sim.control, stack.rest
    jobs = {
        name: control.create_job("tensorpix", prompt=f"e2e modes: {name}", sim={"outcome": "stuck_queued"})
        for name in MODES_SENSORS
    }
    scenario.waits = len(jobs)
    rest.wait_for_dags([MODES_DAG], check=stack.check)
    rest.unpause(MODES_DAG)
    create_prompt = f"e2e modes: create_end {time.time():.0f}"
    run_id = rest.trigger(
        MODES_DAG, {"jobs": {name: job["id"] for name, job in jobs.items()}, "create_prompt": create_prompt}
    )

    deadline = time.monotonic() + 240
    while True:  # every wait deferred, its trigger running in a triggerer (start_soft may time out first)
        stack.check()
        assignment = _modes_assignment(stack, run_id)
        waiting = {"worker", "end", "start", "start_failed", "create_end"}
        if waiting <= set(assignment) and None not in (assignment[t] for t in waiting):
            break
        assert time.monotonic() < deadline, f"not all sensors deferred: {assignment}"
        time.sleep(1)
    stack.snapshot_secrets("triggerer modes: deferred")
    [old] = stack.live_triggerers()
    stack.kill_triggerer(old)
    new = stack.start_triggerer()
    new_job = stack.triggerer_jobs[new.name]
    deadline = time.monotonic() + 120
    while set(_modes_assignment(stack, run_id).values()) - {new_job}:
        assert time.monotonic() < deadline, f"triggers never moved: {_modes_assignment(stack, run_id)}"
        time.sleep(1)

    created = _created_with_prompt(stack, create_prompt)
    assert len(created) == 1, f"create_end: {len(created)} jobs for its prompt, expected one"
    jobs["create_end"] = created[0]

    message = "E2E modes: the render farm refused the prompt"
    for name in ("worker", "end", "start", "create_end"):
        control.update_job(jobs[name]["id"], outcome="completed", queued_s=0, running_s=0)
    control.add_job_faults(
        jobs["start_failed"]["id"],
        {"kind": "drift", "extra": {"error": {"code": "e2e_modes_refused", "message": message}}},
    )
    control.update_job(
        jobs["start_failed"]["id"],
        outcome="failed",
        queued_s=0,
        running_s=0,
        error_code="e2e_modes_refused",
        error_message=message,
    )
    try:
        state = rest.wait_run(MODES_DAG, run_id, timeout=300, check=stack.check)
    except TimeoutError as error:
        states = {str(ti["task_id"]): ti["state"] for ti in rest.task_instances(MODES_DAG, run_id)}
        raise AssertionError(f"{error}; per task: {states}") from None

    tis = {str(ti["task_id"]): ti for ti in rest.task_instances(MODES_DAG, run_id)}
    assert {task: ti["state"] for task, ti in tis.items()} == {
        "job_ids": "success",
        "worker": "success",
        "end": "success",
        "start": "success",
        "start_failed": "failed",
        "start_soft": "skipped",
        "after_start": "success",
        "create_end": "success",
        "after_create": "success",
    }
    assert state == "failed"
    for name in ("worker", "end", "start", "create_end"):
        assert tis[name]["try_number"] == 1
        xcom = rest.xcom(MODES_DAG, run_id, name)
        api = "aihubmix" if name == "create_end" else "tensorpix"
        assert_matches_simulator(xcom, control.job(jobs[name]["id"]), _as_wait(api, jobs[name]["id"]))
    assert rest.xcom(MODES_DAG, run_id, "after_start")["job_id"] == jobs["start"]["id"]
    assert rest.xcom(MODES_DAG, run_id, "after_create")["job_id"] == jobs["create_end"]["id"]
    paid = _created_with_prompt(stack, create_prompt)
    assert len(paid) == 1, f"create_end paid for {len(paid)} jobs across the triggerer kill"
    # Which work ran on a worker: the witness file of the sensors' own execute / execute_complete.
    witnessed = _witnessed(stack, run_id)
    assert {task: dict(counts) for task, counts in witnessed.items()} == {
        "worker": {"execute": 1, "execute_complete": 1},
        "end": {"execute": 1},
        "start": {},
        "start_failed": {"execute_complete": 1},
        "start_soft": {"execute_complete": 1},
        "create_end": {"execute": 1},
    }
    failed_log = rest.task_log(MODES_DAG, run_id, "start_failed")
    for needle in ("JobFailedError", "e2e_modes_refused", message):
        assert needle in failed_log, f"start_failed: {needle!r} is not in the task log"
    assert "Pausing task as DEFERRED" not in rest.task_log(MODES_DAG, run_id, "start")
    scenario.notes.append(
        "worker starts per sensor: today's path 2, end_from_trigger 1, start+end 0; create+end_from_trigger 1"
    )


@pytest.mark.scenario("secret scan (canary keys)")
def test_secret_scan(stack: E2EStack, scenario: ScenarioResult) -> None:
    """After every scenario, the canary keys are in no log, no trigger/XCom/next_kwargs/rendered row."""
    assert stack.sim is not None
    assert stack.pg is not None
    assert stack.airflow is not None
    canaries = stack.sim.canaries

    # The scanner itself finds a planted key (or a silent scanner would pass anything).
    planted = stack.work / "planted.txt"
    planted.write_text(f"header\nAuthorization: Token {canaries[0]}\n")
    assert scan_files([planted], canaries).hits, "the scanner missed a planted canary"
    planted.unlink()

    files = [p for p in stack.airflow.log_files() if p.name != "simulator.log"]
    if stack.lineage_dir is not None:  # OpenLineage events leave the deployment: no key, no signature
        files += sorted(stack.lineage_dir.glob("event-*"))
    report = scan_files(files, canaries)
    report.merge(stack.secret_report)  # rows scanned while waits were deferred
    report.merge(scan_db(stack.pg, canaries, "after all scenarios"))
    report.merge(scan_db_dump(stack.pg, canaries, "after all scenarios"))
    # Pre-signed URLs' signatures: whole in the XComs (they download), masked in every log line.
    signatures = signatures_in_xcoms(stack.pg)
    assert signatures, "no XCom holds a pre-signed URL: the signature scan would look for nothing"
    report.hits += scan_files_for_signatures(files, signatures).hits
    scenario.notes.append(f"{len(signatures)} URL signatures looked for in the logs")
    scenario.waits = 0
    kib = report.bytes_scanned // 1024
    scenario.notes.append(f"{report.files_scanned} log files + DB dump ({kib} KiB); rows: {report.rows_scanned}")
    assert not report.hits, "canary API keys leaked:\n" + "\n".join(report.hits)
