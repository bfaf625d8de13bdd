"""Benchmark DAGs (``deployment_waits.py``): N waits five ways, each wait followed by one task.

Sensor waits: ``bench_waits_worker`` is today's deferrable path, ``bench_waits_end`` adds
``end_from_trigger``, ``bench_waits_start`` adds ``start_from_trigger`` too; trigger each with
``{"jobs": [id, ...]}``. Create-and-wait (``AIHubMixCreateVideoOperator(wait_for_completion=True)``):
``bench_waits_create_worker`` is today's deferrable path, ``bench_waits_create_end`` adds
``end_from_trigger``; trigger each with ``{"prompts": [text, ...]}`` (the simulator holds each created job
queued until the benchmark gives it a duration). N comes from ``VIDJOBS_BENCH_WAITS`` (the deployment's
environment), the same for every way.
"""

from __future__ import annotations

import os
import time
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

WAITS = int(os.environ.get("VIDJOBS_BENCH_WAITS", "100"))
WAYS: dict[str, dict[str, Any]] = {
    "worker": {"deferrable": True},
    "end": {"deferrable": True, "end_from_trigger": True},
    "start": {"start_from_trigger": True, "end_from_trigger": True},
}
CREATE_WAYS: dict[str, dict[str, Any]] = {
    "create_worker": {"deferrable": True},
    "create_end": {"deferrable": True, "end_from_trigger": True},
}
POLLING: dict[str, Any] = {"poll_interval": 5, "max_poll_interval": 10, "timeout": 1800}


def _wait_task(way: str, i: int, options: dict[str, Any]) -> Any:
    if way in CREATE_WAYS:
        return AIHubMixCreateVideoOperator(
            task_id=f"wait_{i}",
            prompt="{{ dag_run.conf['prompts'][" + str(i) + "] }}",
            extra_params={"sim": {"outcome": "stuck_queued"}},
            conn_id="aihubmix_default",
            wait_for_completion=True,
            **POLLING,
            **options,
        )
    return VideoJobSensor(
        task_id=f"wait_{i}",
        job_id="{{ dag_run.conf['jobs'][" + str(i) + "] }}",
        conn_id="tensorpix_default",
        **POLLING,
        **options,
    )


def _waits_dag(way: str, options: dict[str, Any]) -> None:
    @dag(dag_id=f"bench_waits_{way}", schedule=None, catchup=False, max_active_tasks=4096, tags=["benchmark"])
    def waits() -> None:
        @task
        def after(job: dict[str, Any]) -> dict[str, Any]:
            """The downstream task: its start is when the pipeline moves on after the video is done."""
            return {"job_id": job["job_id"], "started": time.time()}

        for i in range(WAITS):
            after.override(task_id=f"after_{i}")(_wait_task(way, i, options).output)

    waits()


for _way, _options in {**WAYS, **CREATE_WAYS}.items():
    _waits_dag(_way, _options)
