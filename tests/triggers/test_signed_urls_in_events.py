"""A trigger event never carries a pre-signed URL's signature: the triggerer logs every event it fires.

The job in the event keeps its URLs with the secret query values as ``***`` and says ``reread``; the
resumed task reads the job once more (a fresh, working URL, registered with the task's masker).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_vidjobs import url_secrets
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger
from airflow_provider_vidjobs.waiting import job_from_event

QUICK = {"queued_s": 0.1, "running_s": 0.3}
FIXED = {"min_interval": 0.05, "adaptive": False, "jitter": 0.0}


def fired(provider: str, job_id: str) -> dict[str, Any]:
    trigger = VideoJobTrigger(
        provider=provider,
        conn_id=f"{provider}_default",
        job_id=job_id,
        poll_policy=FIXED,
        deadline=time.time() + 20,
    )

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return asyncio.run(first())


def test_a_tensorpix_event_holds_no_signature_and_asks_for_a_reread(sim: SimulatorHandle) -> None:
    job_id = sim.control.create_job("tensorpix", sim=QUICK)["id"]

    payload = fired("tensorpix", job_id)

    signed = sim.control.job(job_id)["vendor"]["generated_video"]
    signatures = [parse_qs(urlsplit(signed[key]).query)["signature"][0] for key in ("file", "thumbnail")]
    text = json.dumps(payload)
    assert all(signature not in text for signature in signatures)
    assert payload["reread"] is True
    video = payload["job"]["video"]
    assert "signature=***" in video["url"]
    assert video["url"].split("?")[0] == signed["file"].split("?")[0]


def test_an_event_without_signed_urls_is_unchanged(sim: SimulatorHandle) -> None:
    job_id = sim.control.create_job("aihubmix", sim=QUICK)["id"]

    payload = fired("aihubmix", job_id)

    assert "reread" not in payload
    assert "***" not in json.dumps(payload)
    assert payload["job"]["video"]["url"].endswith("/content")  # the API's own route: no signature in it


def test_the_resumed_task_reads_the_job_again_for_working_urls(sim: SimulatorHandle) -> None:
    job_id = sim.control.create_job("tensorpix", sim=QUICK)["id"]
    payload = fired("tensorpix", job_id)
    fresh = VideoJob.from_xcom(
        {**payload["job"], "video": {**payload["job"]["video"], "url": "https://x/v?signature=s"}}
    )
    calls: list[str] = []

    def reread() -> VideoJob:
        calls.append(job_id)
        return fresh

    job = job_from_event(payload, job_id=job_id, on_timeout=TimeoutError, reread=reread)

    assert calls == [job_id]
    assert job is fresh
    assert job.status is JobStatus.SUCCEEDED


def test_a_failed_job_is_not_read_again() -> None:
    event = {
        "outcome": "failed",
        "provider": "tensorpix",
        "job_id": "j1",
        "job": {"provider": "tensorpix", "job_id": "j1", "status": "failed", "vendor_status": "failed"},
        "message": "failed",
        "error_type": None,
        url_secrets.REREAD_KEY: True,
    }

    job = job_from_event(
        event, job_id="j1", on_timeout=TimeoutError, reread=lambda: (_ for _ in ()).throw(AssertionError)
    )

    assert job.status is JobStatus.FAILED


def test_when_the_reread_fails_or_no_longer_says_succeeded_the_triggers_view_is_kept(sim: SimulatorHandle) -> None:
    from airflow_provider_vidjobs.exceptions import APIUnavailableError

    job_id = sim.control.create_job("tensorpix", sim=QUICK)["id"]
    payload = fired("tensorpix", job_id)
    running = VideoJob.from_xcom({**payload["job"], "status": "running", "video": None})

    def down() -> VideoJob:
        raise APIUnavailableError("API down", provider="tensorpix", job_id=job_id)

    for reread in (lambda: running, down):
        job = job_from_event(payload, job_id=job_id, on_timeout=TimeoutError, reread=reread)
        assert job.status is JobStatus.SUCCEEDED
        assert job.video is not None
        assert "signature=***" in (job.video.url or "")
