"""E2E: many deferred ``VideoJobSensor`` waits at once, mapped over the run conf.

Trigger with ``{"waits": [{"conn_id": "tensorpix_default", "job_id": "..."}, ...]}``; each entry becomes
one mapped ``wait`` task that defers to ``VideoJobTrigger``. The harness kills triggerers, injects
outages and revokes keys while the waits are deferred, then checks the outcome through the REST API.

``CountingVideoJobSensor`` only adds a witness: every resumption (``execute_complete``) appends one
JSON line to the file named by ``VIDJOBS_E2E_COMPLETIONS``, so the harness can prove that no wait
resumed twice, whatever the triggerers did.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

COMPLETIONS_ENV = "VIDJOBS_E2E_COMPLETIONS"


class CountingVideoJobSensor(VideoJobSensor):
    """``VideoJobSensor`` that records each resumption before handling it."""

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        path = os.environ.get(COMPLETIONS_ENV)
        if path:
            ti = context["ti"]
            record = {
                "run_id": ti.run_id,
                "map_index": ti.map_index,
                "try_number": ti.try_number,
                "job_id": self.job_id,
                "pid": os.getpid(),
                "at": time.time(),
            }
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (json.dumps(record) + "\n").encode())
            finally:
                os.close(fd)
        return super().execute_complete(context, event)


@dag(
    dag_id="e2e_video_waits",
    schedule=None,
    catchup=False,
    max_active_runs=4,
    max_active_tasks=1024,
    default_args={"retries": 0},
    tags=["e2e"],
)
def e2e_video_waits() -> None:
    @task
    def waits(**context: Any) -> list[dict[str, str]]:
        conf = context["dag_run"].conf or {}
        return [{"conn_id": str(w["conn_id"]), "job_id": str(w["job_id"])} for w in conf.get("waits", [])]

    CountingVideoJobSensor.partial(
        task_id="wait",
        deferrable=True,
        poll_interval=3,
        max_poll_interval=5,
        adaptive_polling=False,
        timeout=1200,
        map_index_template="{{ task.job_id }}",
    ).expand_kwargs(waits())


e2e_video_waits()
