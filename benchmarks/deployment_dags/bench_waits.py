"""Benchmark DAGs (``deployment_waits.py``): N sensor waits three ways, each wait followed by one task.

``bench_waits_worker`` is today's deferrable path, ``bench_waits_end`` adds ``end_from_trigger``,
``bench_waits_start`` adds ``start_from_trigger`` too. Trigger each with ``{"jobs": [id, ...]}``; N comes
from ``VIDJOBS_BENCH_WAITS`` (the deployment's environment), the same for all three.
"""

from __future__ import annotations

import os
import time
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

WAITS = int(os.environ.get("VIDJOBS_BENCH_WAITS", "100"))
WAYS: dict[str, dict[str, Any]] = {
    "worker": {"deferrable": True},
    "end": {"deferrable": True, "end_from_trigger": True},
    "start": {"start_from_trigger": True, "end_from_trigger": True},
}


def _waits_dag(way: str, options: dict[str, Any]) -> None:
    @dag(dag_id=f"bench_waits_{way}", schedule=None, catchup=False, max_active_tasks=4096, tags=["benchmark"])
    def waits() -> None:
        @task
        def after(job: dict[str, Any]) -> dict[str, Any]:
            """The downstream task: its start is when the pipeline moves on after the video is done."""
            return {"job_id": job["job_id"], "started": time.time()}

        for i in range(WAITS):
            sensor = VideoJobSensor(
                task_id=f"wait_{i}",
                job_id="{{ dag_run.conf['jobs'][" + str(i) + "] }}",
                conn_id="tensorpix_default",
                poll_interval=5,
                max_poll_interval=10,
                timeout=1800,
                **options,
            )
            after.override(task_id=f"after_{i}")(sensor.output)

    waits()


for _way, _options in WAYS.items():
    _waits_dag(_way, _options)
