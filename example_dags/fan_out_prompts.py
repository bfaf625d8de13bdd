"""Generate one video per prompt in parallel (dynamic task mapping), download them all, report the cost.

Pipeline:

1. ``video_requests``: turns the ``prompts`` param into one create request per prompt.
2. ``create_video`` (mapped, one task instance per prompt): ``AIHubMixCreateVideoOperator`` starts
   each video and returns at once. At most ``max_active_tis_per_dagrun`` requests run at a time.
3. ``wait_for_video`` (mapped over the new jobs): a deferrable ``VideoJobSensor`` per video; the waits
   run in the triggerer, so a hundred prompts do not hold a hundred worker slots, and each returns its
   finished job's normalized metadata. Waiting in a task of its own means a retried wait never
   creates (and pays for) a second video.
4. ``download_video`` (mapped over the finished jobs): each MP4 goes to ``output_dir``, named
   ``aihubmix-<job id>.mp4``, with its size and sha256 returned; the ``Asset`` outlet records every file.
5. ``cost_report``: one task that lines up prompts, clip lengths, generation times, costs and files in a
   table, with totals. (The OpenAI-shaped Videos API reports no cost: the column then says so rather
   than inventing a number.)

Trigger with your own prompts::

    airflow dags trigger fan_out_prompts -c '{"prompts": ["a red kite over dunes", "rain on a tin roof"]}'

Connection ``aihubmix_default`` (type ``aihubmix``): password = API key; host = API base URL (empty means
https://aihubmix.com). Pointing it at the bundled simulator (``vidjobs-simulator``) is the only difference
between a local trial and production.

``extra_params`` (default ``{}``) is sent unchanged with every create request: model-specific fields for
the real API, or ``{"sim": {"running_s": 3}}`` to script the simulator's jobs. ``VIDJOBS_EXAMPLE_POLL_SECONDS``
(default 15) sets the shortest time between checks.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from decimal import Decimal
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


def _seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from ``start`` to ``end`` (ISO times from the VideoJob XCom), or None if either is unknown."""
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 1)


def _log_table(rows: list[dict[str, Any]], report: dict[str, Any]) -> None:
    def show(value: Any, unit: str = "") -> str:
        return "-" if value is None else f"{value:g}{unit}" if isinstance(value, float | int) else str(value)

    header = f"{'#':>2}  {'status':<9}  {'clip':>6}  {'took':>7}  {'cost':>6}  {'bytes':>10}  prompt"
    log.info("%s", header)
    log.info("%s", "-" * len(header))
    for number, row in enumerate(rows, 1):
        prompt = row["prompt"] if len(row["prompt"]) <= 48 else row["prompt"][:47] + "…"
        log.info(
            f"{number:>2}  {row['status']:<9}  {show(row['video_seconds'], ' s'):>6}  "
            f"{show(row['generation_seconds'], ' s'):>7}  {show(row['cost']):>6}  {row['bytes']:>10}  {prompt}"
        )
    log.info("%s", "-" * len(header))
    cost = report["total_cost"] if report["costs_reported"] else "not reported by the API"
    log.info(
        f"{report['count']} videos, {show(report['total_video_seconds'], ' s')} of video, "
        f"{show(report['total_generation_seconds'], ' s')} of generation, {report['total_bytes']} bytes, cost: {cost}"
    )
    for row in rows:
        log.info("  %s  sha256 %s", row["path"], row["sha256"])


with DAG(
    dag_id="fan_out_prompts",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["vidjobs", "aihubmix", "example"],
    params={
        "prompts": Param(
            [
                "A red kite climbing over sand dunes at sunrise, wide shot",
                "Rain drumming on a tin roof, close-up, slow motion",
                "A tram crossing a snowy bridge at night, city lights",
            ],
            type="array",
            items={"type": "string", "minLength": 1},
            minItems=1,
            description="One video is generated per prompt.",
        ),
        "model": Param("sora-2", type="string", description="The video model for every prompt."),
        "seconds": Param("4", type="string", description="Clip length in seconds, as the model accepts it."),
        "size": Param("1280x720", type="string", description="WIDTHxHEIGHT, e.g. 1280x720 or 720x1280."),
        "output_dir": Param(
            "/tmp/vidjobs-videos/",
            type="string",
            minLength=1,
            description="Folder (or object-storage URL such as s3://bucket/videos/) for the videos.",
        ),
        "extra_params": Param(
            {},
            type="object",
            description="More fields for every create request, sent unchanged (simulator: {'sim': {...}}).",
        ),
    },
):

    @task
    def video_requests(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One set of create arguments per prompt (``extra_params`` goes with each, unchanged)."""
        assert params is not None
        extra = dict(params.get("extra_params") or {})
        return [{"prompt": prompt, "extra_params": extra} for prompt in params["prompts"]]

    # expand_kwargs, not expand(prompt=...): extra_params must reach the operator as a dict, and mapped
    # arguments are the one way to hand an operator a whole dict that is only known when the run starts.
    create_video = AIHubMixCreateVideoOperator.partial(
        task_id="create_video",
        conn_id="aihubmix_default",
        model="{{ params.model }}",
        seconds="{{ params.seconds }}",
        size="{{ params.size }}",
        max_active_tis_per_dagrun=4,
    ).expand_kwargs(video_requests())

    wait_for_video = VideoJobSensor.partial(
        task_id="wait_for_video",
        conn_id="aihubmix_default",
        deferrable=True,
        poll_interval=POLL_SECONDS,
        max_poll_interval=max(60.0, POLL_SECONDS),
        timeout=2 * 60 * 60,
    ).expand(job_id=create_video.output)

    download_video = DownloadVideoOperator.partial(
        task_id="download_video",
        conn_id="aihubmix_default",
        destination="{{ params.output_dir.rstrip('/') }}/",
        outlets=[AIHUBMIX_VIDEOS],
    ).expand(job=wait_for_video.output)

    @task
    def cost_report(jobs: list[dict[str, Any]], downloads: list[dict[str, Any]]) -> dict[str, Any]:
        """Log one row per video and the totals; return them for downstream tasks."""
        rows = []
        for job, download in zip(jobs, downloads, strict=True):
            video = job.get("video") or {}
            rows.append(
                {
                    "job_id": job["job_id"],
                    "prompt": job.get("prompt") or "",
                    "status": job["status"],
                    "video_seconds": video.get("duration_seconds"),
                    "generation_seconds": _seconds_between(job.get("created_at"), job.get("completed_at")),
                    "cost": job.get("cost"),
                    "path": download["path"],
                    "bytes": download["bytes"],
                    "sha256": download["sha256"],
                }
            )
        costs = [Decimal(row["cost"]) for row in rows if row["cost"] is not None]
        report = {
            "videos": rows,
            "count": len(rows),
            "total_video_seconds": sum(row["video_seconds"] or 0 for row in rows),
            "total_generation_seconds": sum(row["generation_seconds"] or 0 for row in rows),
            "total_cost": str(sum(costs)) if costs else None,
            "costs_reported": len(costs),
            "total_bytes": sum(row["bytes"] for row in rows),
        }
        _log_table(rows, report)
        return report

    cost_report(wait_for_video.output, download_video.output)
