"""cancel_on_kill (issue 14): a user's kill stops the job at the vendor; a triggerer restart never does.

Against the real simulator over HTTP: a stopped job shows in its ``stopped_jobs`` counter and answers 404.
The triggerer calls ``on_kill`` only on user actions (Airflow 3.3+) and ``cleanup`` on every exit, so the
tests call those methods the way it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from typing import Any

import pytest

from airflow_provider_vidjobs import waiting
from airflow_provider_vidjobs.exceptions import JobNotFoundError
from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook
from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

RUNNING = {"queued_s": 0, "running_s": 600}


def running_job(sim: SimulatorHandle) -> str:
    return str(sim.control.create_job("aihubmix", sim=RUNNING, id_style="slashy")["id"])


def trigger(job_id: str, cancel_on_kill: bool) -> VideoJobTrigger:
    return VideoJobTrigger(
        provider="aihubmix",
        conn_id="aihubmix_default",
        job_id=job_id,
        poll_policy={"min_interval": 0.05, "adaptive": False, "jitter": 0.0},
        deadline=time.time() + 20,
        cancel_on_kill=cancel_on_kill,
    )


async def kill_like_the_triggerer(trig: VideoJobTrigger, *, user_action: bool) -> None:
    """Start the wait, cancel it, then call on_kill (user action only) and cleanup (always)."""
    task = asyncio.create_task(anext(trig.run()))
    await asyncio.sleep(0.2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if user_action:
        await trig.on_kill()
    await trig.cleanup()


def test_a_user_kill_stops_the_job_at_the_vendor(sim: SimulatorHandle) -> None:
    job_id = running_job(sim)
    asyncio.run(kill_like_the_triggerer(trigger(job_id, cancel_on_kill=True), user_action=True))
    assert sim.control.stats()["stopped_jobs"] == {job_id: "in_progress"}
    with pytest.raises(JobNotFoundError):
        AIHubMixHook().get_job(job_id)


def test_a_triggerer_restart_cancels_nothing(sim: SimulatorHandle) -> None:
    """Restart / redistribution: the task is cancelled and cleanup() runs, on_kill() does not."""
    job_id = running_job(sim)
    asyncio.run(kill_like_the_triggerer(trigger(job_id, cancel_on_kill=True), user_action=False))
    assert sim.control.stats()["stopped_jobs"] == {}
    assert "DELETE /v1/videos/{video_id}" not in sim.control.stats()["endpoints"]
    assert AIHubMixHook().get_job(job_id).status.value == "running"


def test_without_the_option_a_user_kill_leaves_the_job_running(sim: SimulatorHandle) -> None:
    job_id = running_job(sim)
    asyncio.run(kill_like_the_triggerer(trigger(job_id, cancel_on_kill=False), user_action=True))
    assert "DELETE /v1/videos/{video_id}" not in sim.control.stats()["endpoints"]


def test_a_cancel_that_fails_is_logged_not_raised(sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]) -> None:
    job_id = running_job(sim)
    sim.control.add_faults({"kind": "http_error", "status": 503, "endpoint": "DELETE /v1/videos/{video_id}"})
    asyncio.run(trigger(job_id, cancel_on_kill=True).on_kill())
    assert "could not be cancelled" in capsys.readouterr().out
    assert sim.control.stats()["stopped_jobs"] == {}


def test_the_option_survives_serialization() -> None:
    _classpath, kwargs = trigger("video_1", cancel_on_kill=True).serialize()
    assert kwargs["cancel_on_kill"] is True
    assert VideoJobTrigger(**kwargs).cancel_on_kill is True
    # a trigger row written before the option existed still loads (off)
    del kwargs["cancel_on_kill"]
    assert VideoJobTrigger(**kwargs).cancel_on_kill is False


def test_the_deferred_create_passes_the_option_to_its_trigger(sim: SimulatorHandle) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    op = AIHubMixCreateVideoOperator(
        task_id="create", prompt="p", wait_for_completion=True, deferrable=True, cancel_on_kill=True, reattach=False
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({"ti": _TI(), "outlet_events": {}})
    assert deferred.value.trigger.serialize()[1]["cancel_on_kill"] is True


class _TI:
    def xcom_push(self, key: str, value: Any) -> None:
        pass


def test_the_non_deferrable_wait_cancels_in_on_kill(sim: SimulatorHandle) -> None:
    """What the task runner calls on SIGTERM: the operator's on_kill, with the job this try created."""
    op = AIHubMixCreateVideoOperator(task_id="create", prompt="p", cancel_on_kill=True, reattach=False)
    job = op.execute({"ti": _TI(), "outlet_events": {}})
    assert job is not None
    op.on_kill()
    assert job["job_id"] in sim.control.stats()["stopped_jobs"]


def test_on_kill_without_the_option_cancels_nothing(sim: SimulatorHandle) -> None:
    op = AIHubMixCreateVideoOperator(task_id="create", prompt="p", reattach=False)
    op.execute({"ti": _TI(), "outlet_events": {}})
    op.on_kill()
    assert sim.control.stats()["stopped_jobs"] == {}


def test_a_poking_sensor_cancels_in_on_kill(sim: SimulatorHandle) -> None:
    job_id = running_job(sim)
    sensor = VideoJobSensor(task_id="wait", job_id=job_id, provider="aihubmix", cancel_on_kill=True)
    sensor.on_kill()
    assert job_id in sim.control.stats()["stopped_jobs"]


def test_tensorpix_refuses_the_option_at_parse() -> None:
    with pytest.raises(ValueError, match="tensorpix API documents no way to cancel"):
        VideoJobSensor(task_id="wait", job_id="j", provider="tensorpix", cancel_on_kill=True)


def test_tensorpix_behind_a_conn_id_refuses_the_option_before_any_request(sim: SimulatorHandle) -> None:
    sensor = VideoJobSensor(task_id="wait", job_id="j", conn_id="tensorpix_default", cancel_on_kill=True)
    with pytest.raises(ValueError, match="tensorpix API documents no way to cancel"):
        sensor.execute({"ti": _TI(), "outlet_events": {}})
    assert sim.control.stats()["requests_total"] == 0


def test_before_airflow_3_3_the_option_warns_once_that_it_is_not_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "airflow_calls_trigger_on_kill", lambda: False)
    monkeypatch.setattr(waiting, "_warned_on_kill", False)
    with pytest.warns(UserWarning, match="no effect on a deferred wait before Airflow 3.3"):
        VideoJobSensor(task_id="a", job_id="j", provider="aihubmix", deferrable=True, cancel_on_kill=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        VideoJobSensor(task_id="b", job_id="j", provider="aihubmix", deferrable=True, cancel_on_kill=True)
        AIHubMixCreateVideoOperator(
            task_id="c", prompt="p", wait_for_completion=True, deferrable=True, cancel_on_kill=True
        )


def test_the_warning_follows_the_running_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """On 3.3+ (the triggerer calls on_kill) no warning; on 3.1/3.2 one."""
    monkeypatch.setattr(waiting, "_warned_on_kill", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        VideoJobSensor(task_id="a", job_id="j", provider="aihubmix", deferrable=True, cancel_on_kill=True)
    warned = any("no effect on a deferred wait" in str(w.message) for w in caught)
    assert warned is (_airflow_release() < (3, 3))


def _airflow_release() -> tuple[int, ...]:
    from airflow import __version__

    return tuple(int(part) for part in __version__.split(".")[:2])
