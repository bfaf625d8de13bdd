"""The task's "Video job" link on every path that ends a task, against the simulator.

Airflow stores a task's links as the task ends or defers (``task_runner.finalize``: for each of the
running task's ``operator_extra_links``, ``XCom _link_<Class> = link.get_link(task, ti_key)``);
:func:`finalize_links` does exactly that here. Replicate answers a page for every job (``urls.web``);
TensorPix has none unless the connection has a ``web_url_template``: then nothing may be stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, BaseOperator, TaskDeferred, XCom

from airflow_provider_vidjobs.exceptions import JobFailedError
from airflow_provider_vidjobs.links import XCOM_KEY, VideoJobLink
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.operators.video_job import GetVideoJobOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

QUICK = {"queued_s": 0.05, "running_s": 0.15}
TI_KEY = SimpleNamespace(dag_id="videos", task_id="wait", run_id="manual__1", map_index=-1, try_number=1)
TEMPLATE = "https://app.example.com/jobs/{job_id}"


@pytest.fixture
def sim(vidjobs_simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SimulatorHandle:
    for name, value in vidjobs_simulator.airflow_connections().items():
        monkeypatch.setenv(name, value)
    linked = json.loads(vidjobs_simulator.airflow_connections()["AIRFLOW_CONN_TENSORPIX_DEFAULT"])
    linked["extra"] = {**linked.get("extra", {}), "web_url_template": TEMPLATE}
    monkeypatch.setenv("AIRFLOW_CONN_TENSORPIX_LINKED", json.dumps(linked))
    return vidjobs_simulator


@pytest.fixture
def xcoms(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The task instance's XComs, across its task processes (a deferral's resume keeps them)."""
    stored: dict[str, Any] = {}
    monkeypatch.setattr(XCom, "get_value", lambda *, key, ti_key: stored.get(key))
    return stored


def finalize_links(task: BaseOperator, xcoms: dict[str, Any]) -> None:
    """What Airflow's ``finalize`` does with a task's links when a task process ends (or defers)."""
    for link in task.operator_extra_links:
        xcoms[link.xcom_key] = link.get_link(operator=task, ti_key=TI_KEY)


def running(task: BaseOperator) -> tuple[BaseOperator, dict[str, Any]]:
    """The task as a worker runs it (Airflow's locked copy) and its context."""
    task = task.prepare_for_execution()
    return task, {"task": task, "ti": SimpleNamespace(task=task, xcom_push=None, map_index=-1)}


def finished(sim: SimulatorHandle, provider: str, **sim_args: Any) -> str:
    job_id = str(sim.control.create_job(provider, sim={**QUICK, **sim_args})["id"])
    time.sleep(0.4)
    return job_id


def sensor(job_id: str, provider: str, **kwargs: Any) -> VideoJobSensor:
    kwargs.setdefault("conn_id", f"{provider}_default")
    return VideoJobSensor(task_id="wait", job_id=job_id, provider=provider, poll_interval=0.05, **kwargs)


def run(task: BaseOperator, method: str = "execute", **kwargs: Any) -> tuple[Any, BaseException | None]:
    try:
        return getattr(task, method)(**kwargs), None
    except (TaskDeferred, JobFailedError, AirflowSensorTimeout) as error:
        return None, error


def resume(task: VideoJobSensor, deferred: TaskDeferred) -> tuple[Any, BaseException | None, BaseOperator]:
    """The trigger's event, then a NEW task process that resumes the task with it."""
    trigger = deferred.trigger
    assert isinstance(trigger, VideoJobTrigger)

    async def first() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    event = asyncio.run(first())
    fresh, context = running(task)
    result, error = run(fresh, "execute_complete", context=context, event=event)
    return result, error, fresh


def replicate_link(job: Any) -> str:
    return str(job["web_url"])


# ----- Replicate: the API's own page, on every ending -----------------------------------------------


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_poke_mode_stores_the_apis_page(sim: SimulatorHandle, xcoms: dict[str, Any], outcome: str) -> None:
    job_id = finished(sim, "replicate", outcome=outcome)
    task, context = running(sensor(job_id, "replicate", deferrable=False, mode="poke"))
    _, error = run(task, context=context)
    finalize_links(task, xcoms)
    assert xcoms[XCOM_KEY].endswith(job_id)  # urls.web: https://replicate.com/p/<id>
    assert (error is None) == (outcome == "completed")


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_deferrable_sensor_whose_job_ended_before_the_first_check_stores_the_apis_page(
    sim: SimulatorHandle, xcoms: dict[str, Any], outcome: str
) -> None:
    """The bug: the link was stored before the job was read, and the finished job returned without it."""
    job_id = finished(sim, "replicate", outcome=outcome)
    task, context = running(sensor(job_id, "replicate", deferrable=True))
    result, error = run(task, context=context)
    finalize_links(task, xcoms)
    assert not isinstance(error, TaskDeferred)
    assert xcoms[XCOM_KEY].endswith(job_id)
    if outcome == "completed":
        assert xcoms[XCOM_KEY] == replicate_link(result)


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_a_resumed_sensor_stores_the_apis_page(sim: SimulatorHandle, xcoms: dict[str, Any], outcome: str) -> None:
    job_id = str(sim.control.create_job("replicate", sim={"queued_s": 0.3, "running_s": 0.3, "outcome": outcome})["id"])
    task, context = running(sensor(job_id, "replicate", deferrable=True))
    _, deferred = run(task, context=context)
    assert isinstance(deferred, TaskDeferred)
    finalize_links(task, xcoms)  # the deferring process stores what it knows
    _, error, fresh = resume(task, deferred)
    finalize_links(fresh, xcoms)
    assert xcoms[XCOM_KEY].endswith(job_id)
    assert (error is None) == (outcome == "completed")
    assert isinstance(error, JobFailedError | type(None))


def test_get_operator_stores_the_apis_page(sim: SimulatorHandle, xcoms: dict[str, Any]) -> None:
    job_id = finished(sim, "replicate")
    task, context = running(GetVideoJobOperator(task_id="get", job_id=job_id, provider="replicate"))
    result, _ = run(task, context=context)
    finalize_links(task, xcoms)
    assert xcoms[XCOM_KEY] == replicate_link(result)


# ----- TensorPix with a connection template: the template's page -------------------------------------


def test_a_template_link_is_stored_when_the_task_defers_and_kept_after_a_timeout(
    sim: SimulatorHandle, xcoms: dict[str, Any]
) -> None:
    job_id = str(sim.control.create_job("tensorpix", sim={"outcome": "stuck"})["id"])
    task, context = running(sensor(job_id, "tensorpix", conn_id="tensorpix_linked", deferrable=True, timeout=0.3))
    _, deferred = run(task, context=context)
    assert isinstance(deferred, TaskDeferred)
    finalize_links(task, xcoms)
    assert xcoms[XCOM_KEY] == TEMPLATE.format(job_id=job_id)
    _, error, fresh = resume(task, deferred)
    finalize_links(fresh, xcoms)
    assert isinstance(error, AirflowSensorTimeout)
    assert xcoms[XCOM_KEY] == TEMPLATE.format(job_id=job_id)


# ----- No page at all: nothing stored -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["poke", "deferrable-finished", "deferrable-resumed", "get", "download"])
def test_a_task_with_no_link_stores_no_link_xcom(
    sim: SimulatorHandle, xcoms: dict[str, Any], mode: str, tmp_path: Any
) -> None:
    if mode == "deferrable-resumed":
        job_id = str(sim.control.create_job("tensorpix", sim={"queued_s": 0.3, "running_s": 0.3})["id"])
    else:
        job_id = finished(sim, "tensorpix")
    task: BaseOperator
    if mode == "get":
        task = GetVideoJobOperator(task_id="get", job_id=job_id, provider="tensorpix")
    elif mode == "download":
        task = DownloadVideoOperator(
            task_id="dl", job=job_id, provider="tensorpix", destination=str(tmp_path / "v.mp4")
        )
    else:
        task = sensor(job_id, "tensorpix", deferrable=mode != "poke", mode="poke")
    locked, context = running(task)
    _, error = run(locked, context=context)
    finalize_links(locked, xcoms)
    if isinstance(error, TaskDeferred):
        assert isinstance(task, VideoJobSensor)
        _, error, fresh = resume(task, error)
        finalize_links(fresh, xcoms)
    assert error is None
    assert xcoms == {}  # no empty "Video job" row, no other link XCom


def test_the_link_is_declared_for_the_ui_whatever_the_task_finds() -> None:
    """The serialized DAG (what the UI reads) always has the link: only the running task may leave it out."""
    task = sensor("j", "tensorpix")
    assert [link.name for link in task.operator_extra_links] == ["Video job"]
    assert [link.name for link in VideoJobSensor.operator_extra_links] == ["Video job"]
    assert VideoJobLink().xcom_key == XCOM_KEY
