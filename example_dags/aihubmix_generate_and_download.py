"""Generate one video with AIHubMix (OpenAI-shaped Videos API), wait for it, download it, summarize.

Pipeline:

1. ``create_video``: ``AIHubMixCreateVideoOperator`` sends ``POST /v1/videos`` and returns at once. The
   new id is pushed under XCom key ``job_id`` as soon as the API accepts the job, so a failed wait can be
   retried without paying for a second video.
2. ``wait_for_video``: a deferrable ``VideoJobSensor`` on that id; the wait runs in the triggerer and the
   task resumes with the finished job's normalized metadata (``VideoJob.to_xcom()``).
3. ``download_video``: ``DownloadVideoOperator`` streams the MP4 into ``output_dir`` (named
   ``aihubmix-<job id>.mp4``), checks its size, and returns ``{path, bytes, sha256, content_type, ...}``.
   Its ``Asset`` outlet lets other DAGs run on every new video (``schedule=[AIHUBMIX_VIDEOS]``); the
   asset event's extra carries the job id, path and sha256.
4. ``summarize``: logs prompt, model, status, duration, resolution, cost, file and checksum.

Trigger with your own prompt::

    airflow dags trigger aihubmix_generate_and_download -c '{"prompt": "A paper boat on a rainy street"}'

Connection ``aihubmix_default`` (type ``aihubmix``): password = API key; host = API base URL (empty means
https://aihubmix.com; any OpenAI-compatible Videos gateway works). Pointing it at the bundled simulator
(``vidjobs-simulator``) is the only difference between a local trial and production.

``extra_params`` (default ``{}``) is sent with the create request unchanged: model-specific fields for
the real API, or ``{"sim": {"queued_s": 1, "running_s": 5}}`` to script the simulator's job (see the
simulator's docs). ``VIDJOBS_EXAMPLE_POLL_SECONDS`` (default 15) sets the shortest time between checks.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow.sdk import DAG, Asset, Param, task

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

#: The task log, where users look (print() output lands in the collapsed "Post Execute" group).
log = logging.getLogger(__name__)

POLL_SECONDS = float(os.environ.get("VIDJOBS_EXAMPLE_POLL_SECONDS", "15"))

#: Updated each time this DAG downloads a video.
AIHUBMIX_VIDEOS = Asset(name="aihubmix_videos", uri="vidjobs://aihubmix/videos")


def send_extra_params(context: Any) -> None:
    """Put the run's ``extra_params`` param into the create request.

    ``AIHubMixCreateVideoOperator`` copies ``extra_params`` into a dict when the DAG file is parsed, so a
    template such as ``"{{ params.extra_params }}"`` cannot supply the whole dict; this ``pre_execute``
    hook sets it from the run's params instead, just before the request is sent.
    """
    context["task"].extra_params = dict(context["params"].get("extra_params") or {})


with DAG(
    dag_id="aihubmix_generate_and_download",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["vidjobs", "aihubmix", "example"],
    params={
        "prompt": Param(
            "A paper boat drifting down a rainy city street at dusk, cinematic, shallow depth of field",
            type="string",
            minLength=1,
            description="What to generate.",
        ),
        "model": Param("sora-2", type="string", description="The video model, e.g. sora-2, sora-2-pro, veo-3.1."),
        "seconds": Param("4", type="string", description="Clip length in seconds, as the model accepts it."),
        "size": Param("1280x720", type="string", description="WIDTHxHEIGHT, e.g. 1280x720 or 720x1280."),
        "output_dir": Param(
            "/tmp/vidjobs-videos/",
            type="string",
            minLength=1,
            description="Folder (or object-storage URL such as s3://bucket/videos/) for the video.",
        ),
        "extra_params": Param(
            {},
            type="object",
            description="More fields for the create request, sent unchanged (simulator: {'sim': {...}}).",
        ),
    },
):
    create_video = AIHubMixCreateVideoOperator(
        task_id="create_video",
        conn_id="aihubmix_default",
        prompt="{{ params.prompt }}",
        model="{{ params.model }}",
        seconds="{{ params.seconds }}",
        size="{{ params.size }}",
        pre_execute=send_extra_params,
    )

    wait_for_video = VideoJobSensor(
        task_id="wait_for_video",
        conn_id="aihubmix_default",
        job_id=create_video.output["job_id"],
        deferrable=True,
        poll_interval=POLL_SECONDS,
        max_poll_interval=max(60.0, POLL_SECONDS),
        timeout=2 * 60 * 60,
    )

    download_video = DownloadVideoOperator(
        task_id="download_video",
        conn_id="aihubmix_default",
        job=wait_for_video.output,
        destination="{{ params.output_dir.rstrip('/') }}/",
        outlets=[AIHUBMIX_VIDEOS],
    )

    @task
    def summarize(job: dict[str, Any], download: dict[str, Any]) -> dict[str, Any]:
        """Log what was generated and where it landed; return the same facts for downstream tasks."""
        video = job.get("video") or {}
        width, height = video.get("width"), video.get("height")
        summary = {
            "provider": job["provider"],
            "job_id": job["job_id"],
            "status": job["status"],
            "prompt": job.get("prompt"),
            "model": job.get("model"),
            "duration_seconds": video.get("duration_seconds"),
            "resolution": f"{width}x{height}" if width and height else None,
            "cost": job.get("cost"),
            "path": download["path"],
            "bytes": download["bytes"],
            "sha256": download["sha256"],
        }
        for key, value in summary.items():
            log.info("%16s: %s", key, "-" if value is None else value)
        return summary

    summarize(wait_for_video.output, download_video.output)
