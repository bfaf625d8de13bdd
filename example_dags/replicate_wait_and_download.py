"""Wait for a Replicate prediction started elsewhere, download its video, and report it.

Pipeline:

1. ``wait_for_prediction``: a deferrable ``VideoJobSensor`` on a ``replicate`` connection checks the
   prediction once; while it is ``starting`` or ``processing`` the wait moves to the triggerer. Its XCom
   is the normalized ``VideoJob`` (``video.url`` is the prediction's ``output``; the task's *Video job*
   link is Replicate's page of the prediction, ``urls.web``). A failed or cancelled prediction fails the
   task with Replicate's error.
2. ``download_video``: streams ``output`` to ``output_dir`` and records its size and sha256.
3. ``summarize``: logs status, model, generation time (``metrics.predict_time``), file and checksum.

The prediction id comes from the run's params (start it with Replicate's API, client or web app)::

    airflow dags trigger replicate_wait_and_download -c '{"prediction_id": "ufawqhfynnddngldkgtslldrkq"}'

Connection ``replicate_default`` (type ``replicate``): password = API token; host empty means
https://api.replicate.com. ``VIDJOBS_EXAMPLE_POLL_SECONDS`` (default 15) sets the shortest time between checks.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_vidjobs.models import VideoJob
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

#: The task log, where users look (print() output lands in the collapsed "Post Execute" group).
log = logging.getLogger(__name__)

POLL_SECONDS = float(os.environ.get("VIDJOBS_EXAMPLE_POLL_SECONDS", "15"))

with DAG(
    dag_id="replicate_wait_and_download",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["vidjobs", "replicate", "example"],
    params={
        "prediction_id": Param(type="string", title="Replicate prediction id", minLength=1),
        "output_dir": Param("/tmp/vidjobs-videos/", type="string", description="Folder (or fsspec URL) for the video."),
    },
):
    wait_for_prediction = VideoJobSensor(
        task_id="wait_for_prediction",
        conn_id="replicate_default",
        job_id="{{ params.prediction_id }}",
        deferrable=True,
        poll_interval=POLL_SECONDS,
        max_poll_interval=max(60.0, POLL_SECONDS),
        timeout=2 * 60 * 60,
    )

    download_video = DownloadVideoOperator(
        task_id="download_video",
        conn_id="replicate_default",
        job=wait_for_prediction.output,
        destination="{{ params.output_dir }}",
    )

    @task
    def summarize(job: dict[str, Any], download: dict[str, Any]) -> dict[str, Any]:
        """Log what the prediction made and where it landed; return the same facts for downstream tasks."""
        VideoJob.from_xcom(job)  # registers any signed URL's signature with this task's secret masker
        summary = {
            "provider": job["provider"],
            "job_id": job["job_id"],
            "status": job["status"],
            "model": job.get("model"),
            "predict_time_s": (job.get("extras") or {}).get("predict_time_s"),
            "file": download["path"],
            "bytes": download["bytes"],
            "sha256": download["sha256"],
        }
        for key, value in summary.items():
            log.info("%16s: %s", key, "-" if value is None else value)
        return summary

    summarize(wait_for_prediction.output, download_video.output)
