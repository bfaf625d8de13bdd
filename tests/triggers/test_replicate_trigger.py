"""What only Replicate does to a wait: ``aborted`` ends it cancelled, a succeeded prediction with no video
ends it failed, a list output is the video, the link is ``urls.web``, cancel_on_kill sends a POST.

Against the mock API (no simulator needed). Outcomes every API shares (succeeded, failed, a rejected
key, an unknown job, faults) run over Replicate in the registry-parametrized contract suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from airflow.triggers.base import TaskSuccessEvent

from airflow_provider_vidjobs.hooks.replicate import NO_VIDEO, ReplicateHook
from airflow_provider_vidjobs.links import XCOM_KEY as LINK_XCOM_KEY
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

PID = "gm3qorzdhgbfurvjtvhg6dckhu"
MP4 = "https://replicate.delivery/xezq/abc123/output.mp4"
FIXED = {"min_interval": 0.01, "adaptive": False, "jitter": 0.0}
CANARY_KEY = "canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"


@pytest.fixture(autouse=True)
def replicate_connection(connections: Any) -> None:
    connections("replicate_default", "replicate")


def prediction(status: str, output: Any = None, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": PID,
        "model": "minimax/video-01",
        "status": status,
        "input": {"prompt": "a cat"},
        "output": output,
        "logs": " 40%|####      | 40/100",
        "urls": {"web": f"https://replicate.com/p/{PID}"},
    }
    return {**doc, **changes}


def trigger(job_id: str = PID, **kwargs: Any) -> VideoJobTrigger:
    kwargs.setdefault("deadline", time.time() + 10)
    return VideoJobTrigger(
        provider="replicate", conn_id="replicate_default", job_id=job_id, poll_policy=FIXED, **kwargs
    )


def run(trig: VideoJobTrigger) -> Any:
    async def collect() -> list[Any]:
        return [event async for event in trig.run()]

    (event,) = asyncio.run(collect())
    return event


@pytest.mark.parametrize(
    ("final", "outcome"),
    [
        pytest.param(prediction("aborted"), "cancelled", id="aborted"),
        pytest.param(prediction("canceled", MP4), "cancelled", id="canceled-with-output"),
        pytest.param(prediction("succeeded", ["https://x.example/a.png", MP4]), "succeeded", id="succeeded-list"),
    ],
)
def test_waits_to_each_replicate_outcome(api: Any, final: dict[str, Any], outcome: str) -> None:
    api.script(api.json(200, prediction("starting")), api.json(200, prediction("processing")), api.json(200, final))
    payload = run(trigger()).payload
    assert payload["outcome"] == outcome
    job = VideoJob.from_xcom(payload["job"])
    assert job.status is JobStatus(outcome)
    assert job.vendor_status == final["status"]
    assert (job.video.url if job.video else None) == (MP4 if outcome == "succeeded" else None)
    assert CANARY_KEY not in json.dumps(payload)


def test_a_succeeded_prediction_without_output_ends_failed_with_the_reason(api: Any) -> None:
    api.script(api.json(200, prediction("processing")), api.json(200, prediction("succeeded", None)))
    payload = run(trigger()).payload
    assert payload["outcome"] == "failed"
    job = VideoJob.from_xcom(payload["job"])
    assert job.error is not None
    assert job.error.code == NO_VIDEO
    assert job.vendor_status == "succeeded"
    assert "output is null" in payload["message"]


def test_the_link_stored_from_the_triggerer_is_the_predictions_page(
    api: Any, connections: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``urls.web`` is the "Video job" link, even on a host that is not Replicate's (a gateway, a proxy)."""
    from airflow.providers.common.compat.sdk import XCom

    connections("replicate_default", "replicate", host="https://gateway.example")
    stored: dict[str, Any] = {}

    async def aset(key: str, value: Any, **where: Any) -> None:
        stored[key] = value

    monkeypatch.setattr(XCom, "aset", aset, raising=False)
    api.script(api.json(200, prediction("succeeded", MP4, urls={"web": "https://replicate.com/p/other"})))
    trig = trigger(end_from_trigger=True)
    trig.task_instance = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, start_date=None, task=None)  # type: ignore[assignment]
    assert isinstance(run(trig), TaskSuccessEvent)
    assert stored[LINK_XCOM_KEY] == "https://replicate.com/p/other"


def test_cancel_on_kill_posts_the_cancel(api: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        status = "canceled" if request.method == "POST" else "processing"
        return httpx.Response(200, json=prediction(status))

    api.script(answer)
    trig = trigger(cancel_on_kill=True)

    async def kill() -> None:
        task = asyncio.create_task(anext(trig.run()))
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await trig.on_kill()
        await trig.cleanup()

    asyncio.run(kill())
    cancels = [r for r in api.requests if r.method != "GET"]
    assert [(r.method, r.url.raw_path.decode()) for r in cancels] == [("POST", f"/v1/predictions/{PID}/cancel")]
    assert cancels[0].headers["Authorization"] == f"Bearer {CANARY_KEY}"


def test_create_then_wait(api: Any) -> None:
    api.script(api.json(201, prediction("starting")), api.json(200, prediction("succeeded", MP4)))
    created = ReplicateHook().create_prediction(model="minimax/video-01", input={"prompt": "a cat"})
    assert created.status is JobStatus.QUEUED
    payload = run(trigger(created.job_id)).payload
    assert payload["outcome"] == "succeeded"
    assert [r.method for r in api.requests][:2] == ["POST", "GET"]
