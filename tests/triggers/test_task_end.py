"""``end_from_trigger`` and starting in the triggerer: what VideoJobTrigger yields, against the simulator.

A succeeded job ends the task in the triggerer (``TaskSuccessEvent`` carrying the XComs); every other
outcome yields the ordinary event, which resumes the task on a worker exactly as without the option.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from _apis import API_NAMES, contract_api
from airflow.triggers.base import TaskSuccessEvent, TriggerEvent

from airflow_provider_vidjobs.links import XCOM_KEY as LINK_XCOM_KEY
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

FIXED = {"min_interval": 0.05, "adaptive": False, "jitter": 0.0}
QUICK = {"queued_s": 0.1, "running_s": 0.3}


def events_of(trigger: VideoJobTrigger) -> list[TriggerEvent]:
    """Every event ``run()`` yields (exactly one is expected), driven as the triggerer drives it."""

    async def collect() -> list[TriggerEvent]:
        return [event async for event in trigger.run()]

    return asyncio.run(collect())


def trigger_for(provider: str, job_id: Any, **kwargs: Any) -> VideoJobTrigger:
    kwargs.setdefault("deadline", time.time() + 20)
    kwargs.setdefault("conn_id", f"{provider}_default")
    return VideoJobTrigger(provider=provider, job_id=job_id, poll_policy=FIXED, **kwargs)


#: What a trigger knows of its task instance in the triggerer (the fields the XCom is stored under).
TI = SimpleNamespace(dag_id="videos", task_id="wait", run_id="manual__1", map_index=-1, start_date=None, task=None)


@pytest.fixture(params=["aset", "set"], ids=["airflow-3.3-aset", "airflow-3.1-set-in-a-thread"])
def stored(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """XComs the trigger stores through the SDK (``XCom.aset`` on 3.3+, ``XCom.set`` off the loop before)."""
    from airflow.providers.common.compat.sdk import XCom

    seen: dict[str, Any] = {}

    def record(key: str, value: Any, **where: Any) -> None:
        assert where == {"dag_id": "videos", "task_id": "wait", "run_id": "manual__1", "map_index": -1}
        seen[key] = value

    async def arecord(key: str, value: Any, **where: Any) -> None:
        record(key, value, **where)

    if request.param == "aset":
        monkeypatch.setattr(XCom, "aset", arecord, raising=False)
    else:
        monkeypatch.delattr(XCom, "aset", raising=False)
        monkeypatch.setattr(XCom, "set", record)
    return seen


@pytest.mark.parametrize("provider", API_NAMES)
def test_a_succeeded_job_ends_the_task_in_the_triggerer_with_its_xcom(
    sim: SimulatorHandle, provider: str, stored: dict[str, Any]
) -> None:
    job_id = sim.control.create_job(provider, sim=QUICK)["id"]
    trigger = trigger_for(provider, job_id, end_from_trigger=True)
    trigger.task_instance = TI  # type: ignore[assignment]

    (event,) = events_of(trigger)

    assert isinstance(event, TaskSuccessEvent)
    # Stored as a worker stores them, not through the event (which Airflow would JSON-encode twice).
    assert event.xcoms is None
    job = VideoJob.from_xcom(stored["return_value"])
    assert (job.provider, job.job_id, job.status) == (provider, job_id, JobStatus.SUCCEEDED)
    assert job.video is not None
    assert job.video.url
    assert json.loads(json.dumps(stored)) == stored  # JSON-native
    # The page the API returned for the job (Replicate's urls.web); none (no web_url_template): no link XCom.
    if job.web_url:
        assert set(stored) == {"return_value", LINK_XCOM_KEY}
        assert stored[LINK_XCOM_KEY] == job.web_url
    else:
        assert set(stored) == {"return_value"}


def test_the_link_xcom_comes_from_the_connections_web_url_template(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, stored: dict[str, Any]
) -> None:
    conn = json.loads(sim.airflow_connections()["AIRFLOW_CONN_TENSORPIX_DEFAULT"])
    conn["extra"] = {**conn.get("extra", {}), "web_url_template": "https://app.example.com/jobs/{job_id}"}
    monkeypatch.setenv("AIRFLOW_CONN_TENSORPIX_LINKED", json.dumps(conn))
    job_id = sim.control.create_job("tensorpix", sim=QUICK)["id"]
    trigger = trigger_for("tensorpix", job_id, conn_id="tensorpix_linked", end_from_trigger=True)
    trigger.task_instance = TI  # type: ignore[assignment]

    (event,) = events_of(trigger)

    assert isinstance(event, TaskSuccessEvent)
    assert stored[LINK_XCOM_KEY] == f"https://app.example.com/jobs/{job_id}"


def test_when_the_xcom_cannot_be_stored_a_worker_finishes_the_task(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.common.compat.sdk import XCom

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("execution API unavailable")

    monkeypatch.setattr(XCom, "aset", refuse, raising=False)
    job_id = sim.control.create_job("aihubmix", sim=QUICK)["id"]
    trigger = trigger_for("aihubmix", job_id, end_from_trigger=True)
    trigger.task_instance = TI  # type: ignore[assignment]

    (event,) = events_of(trigger)

    assert type(event) is TriggerEvent
    assert event.payload["outcome"] == "succeeded"
    assert event.payload["job"]["job_id"] == job_id


@pytest.mark.parametrize(
    ("provider", "timeline", "deadline_in", "outcome"),
    [
        *((p, {**QUICK, "outcome": "failed"}, 20.0, "failed") for p in API_NAMES),
        *((p, {"queued_s": 0, "running_s": 0.2, "outcome": "stuck"}, 0.5, "timeout") for p in API_NAMES),
    ],
)
def test_every_other_outcome_resumes_the_task_on_a_worker(
    sim: SimulatorHandle, provider: str, timeline: dict[str, Any], deadline_in: float, outcome: str
) -> None:
    job_id = sim.control.create_job(provider, sim=timeline)["id"]
    trigger = trigger_for(provider, job_id, end_from_trigger=True, deadline=time.time() + deadline_in)

    (event,) = events_of(trigger)

    assert type(event) is TriggerEvent  # not a task-end event: execute_complete raises what it means
    assert event.payload["outcome"] == outcome
    assert event.payload["job_id"] == job_id


@pytest.mark.parametrize("provider", API_NAMES)
def test_an_error_resumes_the_task_on_a_worker(sim: SimulatorHandle, provider: str) -> None:
    missing = contract_api(provider).facts.sample_id  # no such job after the reset
    (event,) = events_of(trigger_for(provider, missing, end_from_trigger=True))

    assert type(event) is TriggerEvent
    assert (event.payload["outcome"], event.payload["error_type"]) == ("error", "JobNotFoundError")


def test_without_the_option_a_succeeded_job_resumes_the_worker(sim: SimulatorHandle) -> None:
    job_id = sim.control.create_job("aihubmix", sim=QUICK)["id"]

    (event,) = events_of(trigger_for("aihubmix", job_id))

    assert type(event) is TriggerEvent
    assert event.payload["outcome"] == "succeeded"


def test_the_options_survive_serialization(sim: SimulatorHandle) -> None:
    trigger = trigger_for("aihubmix", "video_1", end_from_trigger=True, timeout=30.0, deadline=None)

    classpath, kwargs = trigger.serialize()
    rebuilt = VideoJobTrigger(**json.loads(json.dumps(kwargs)))

    assert classpath == "airflow_provider_vidjobs.triggers.video_job.VideoJobTrigger"
    assert (rebuilt.end_from_trigger, rebuilt.timeout, rebuilt.deadline) == (True, 30.0, None)


# ----- started in the triggerer: the arguments arrive as rendered templates ------------------------


def test_a_rendered_upstream_videojob_and_an_empty_provider_are_resolved_in_the_triggerer(
    sim: SimulatorHandle, stored: dict[str, Any]
) -> None:
    created = sim.control.create_job("aihubmix", sim=QUICK, id_style="slashy")
    upstream = {"job_id": created["id"], "provider": "aihubmix", "status": "queued"}
    # What Jinja renders for "{{ ti.xcom_pull('create') }}": the dict's Python repr, as text.
    trigger = trigger_for("", str(upstream), conn_id="aihubmix_default", end_from_trigger=True)
    trigger.task_instance = TI  # type: ignore[assignment]

    (event,) = events_of(trigger)

    assert isinstance(event, TaskSuccessEvent)
    assert stored["return_value"]["job_id"] == created["id"]


@pytest.mark.parametrize("provider", API_NAMES)
def test_an_empty_provider_is_the_connections_type(sim: SimulatorHandle, provider: str) -> None:
    job_id = sim.control.create_job(provider, sim=QUICK)["id"]

    (event,) = events_of(trigger_for("", job_id, conn_id=contract_api(provider).conn_id))

    assert event.payload["outcome"] == "succeeded"
    assert event.payload["provider"] == provider


def test_a_connection_of_another_type_ends_with_a_clear_error(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NOT_VIDEO", json.dumps({"conn_type": "http", "host": "example.com"}))

    (event,) = events_of(trigger_for("", "video_1", conn_id="not_video"))

    assert event.payload["outcome"] == "error"
    assert "'not_video' has type 'http'" in event.payload["message"]
    assert "tensorpix" in event.payload["message"]


@pytest.mark.parametrize("provider", API_NAMES)
def test_an_invalid_rendered_id_ends_with_a_clear_error_and_no_request(sim: SimulatorHandle, provider: str) -> None:
    before = sim.control.stats()["requests_total"]

    (event,) = events_of(trigger_for(provider, "None"))

    assert event.payload["outcome"] == "error"
    assert "None" in event.payload["message"]
    assert sim.control.stats()["requests_total"] == before


@pytest.mark.parametrize("provider", API_NAMES)
def test_timeout_counts_from_the_tasks_start(sim: SimulatorHandle, provider: str) -> None:
    job_id = sim.control.create_job(provider, sim={"queued_s": 0, "running_s": 0.2, "outcome": "stuck"})["id"]
    trigger = trigger_for(provider, job_id, deadline=None, timeout=30.0)
    # The task started 29.5 s ago (a triggerer restart re-runs the trigger): 0.5 s are left, not 30.
    trigger.task_instance = SimpleNamespace(  # type: ignore[assignment]
        **{**vars(TI), "start_date": datetime.fromtimestamp(time.time() - 29.5, tz=UTC)}
    )

    started = time.monotonic()
    (event,) = events_of(trigger)

    assert event.payload["outcome"] == "timeout"
    assert time.monotonic() - started < 5
