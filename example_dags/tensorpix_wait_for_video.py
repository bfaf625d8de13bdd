"""Wait for a TensorPix video job started elsewhere, then report what it produced.

Pipeline:

1. ``wait_for_video``: a deferrable ``VideoJobSensor`` checks the job once; while it is queued or
   running, the wait moves to the triggerer (no worker slot is held) and the task resumes when the job
   ends. Its XCom is the job's normalized metadata (``VideoJob.to_xcom()``: status, progress, prompt,
   model, ``video`` with URL, size and duration, cost...). A failed job fails the task with the API's
   error code and message.
2. ``summarize``: reads that XCom and logs status, duration, resolution, cost and the video URL.

The job id comes from the run's params: TensorPix jobs are started from its app or another system,
and this DAG only waits for them::

    airflow dags trigger tensorpix_wait_for_video -c '{"job_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a"}'

Connection ``tensorpix_default`` (type ``tensorpix``): password = API key; host = API base URL (empty
means https://backend.tensorpix.ai). Pointing it at the bundled simulator (``vidjobs-simulator``) is
the only difference between a local trial and production.

``VIDJOBS_EXAMPLE_POLL_SECONDS`` (default 15) sets the shortest time between checks; the demo and the
tests set it to 1 s because simulated jobs take seconds, not minutes.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_vidjobs.models import VideoJob
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

#: The task log, where users look (print() output lands in the collapsed "Post Execute" group).
log = logging.getLogger(__name__)

POLL_SECONDS = float(os.environ.get("VIDJOBS_EXAMPLE_POLL_SECONDS", "15"))

with DAG(
    dag_id="tensorpix_wait_for_video",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["vidjobs", "tensorpix", "example"],
    params={
        "job_id": Param(
            type="string",
            title="TensorPix job id",
            description="The UUID TensorPix returned when the job was created.",
            minLength=1,
        ),
    },
):
    wait_for_video = VideoJobSensor(
        task_id="wait_for_video",
        conn_id="tensorpix_default",
        job_id="{{ params.job_id }}",
        deferrable=True,
        poll_interval=POLL_SECONDS,
        max_poll_interval=max(60.0, POLL_SECONDS),
        timeout=2 * 60 * 60,
    )

    @task
    def summarize(job: dict[str, Any]) -> dict[str, Any]:
        """Log the facts people ask about a finished job; return them for downstream tasks."""
        VideoJob.from_xcom(job)  # registers the pre-signed URL's signature with this task's secret masker
        video = job.get("video") or {}
        width, height = video.get("width"), video.get("height")
        summary = {
            "provider": job["provider"],
            "job_id": job["job_id"],
            "status": job["status"],
            "duration_seconds": video.get("duration_seconds"),
            "resolution": f"{width}x{height}" if width and height else None,
            "cost": job.get("cost"),
            # A pre-signed URL is a download credential until it expires: the summary (logged by Airflow as
            # the returned value) names the file without it; the sensor's XCom keeps the URL that downloads.
            "video_file": (video.get("url") or "").split("?", 1)[0] or None,
        }
        for key, value in summary.items():
            log.info("%16s: %s", key, "-" if value is None else value)
        return summary

    summarize(wait_for_video.output)
