"""E2E: a sensor wait three ways (worker resume, end in the triggerer, start and end in the triggerer),
and a create-and-wait that ends in the triggerer.

Trigger with ``{"jobs": {"worker": id, "end": id, "start": id, "start_failed": id, "start_soft": id},
"create_prompt": text}`` (the jobs are TensorPix jobs of the simulator; ``create_end`` POSTs an AIHubMix
job with that prompt, held queued until the harness ends it). Every sensor reads its job id from the
upstream ``job_ids`` XCom through a template, which the triggerer renders itself for the tasks started
there.

``WitnessSensor`` and ``WitnessCreate`` append one JSON line per ``execute`` and per ``execute_complete``
to the file named by ``VIDJOBS_E2E_COMPLETIONS``: a task started in the triggerer must have neither, one
that ends there no ``execute_complete``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

COMPLETIONS_ENV = "VIDJOBS_E2E_COMPLETIONS"


def _witness(kind: str, context: Any) -> None:
    path = os.environ.get(COMPLETIONS_ENV)
    if not path:
        return
    ti = context["ti"]
    record = {"kind": kind, "run_id": ti.run_id, "task_id": ti.task_id, "map_index": ti.map_index, "at": time.time()}
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())
    finally:
        os.close(fd)


class WitnessSensor(VideoJobSensor):
    """``VideoJobSensor`` that records each start and each resumption on a worker."""

    def execute(self, context: Any) -> Any:
        _witness("execute", context)
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        _witness("execute_complete", context)
        return super().execute_complete(context, event)


class WitnessCreate(AIHubMixCreateVideoOperator):
    """``AIHubMixCreateVideoOperator`` that records each start and each resumption on a worker."""

    def execute(self, context: Any) -> Any:
        _witness("execute", context)
        return super().execute(context)

    def execute_complete(
        self, context: Any, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> dict[str, Any]:
        _witness("execute_complete", context)
        return super().execute_complete(context, event, job_id=job_id)


def _job(name: str) -> str:
    # map_indexes=-1: Airflow 3.3's triggerer cannot serve xcom_pull() without it (the sensor warns and
    # starts on a worker if it is missing).
    return "{{ ti.xcom_pull(task_ids='job_ids', map_indexes=-1)['" + name + "'] }}"


@dag(
    dag_id="e2e_triggerer_modes",
    schedule=None,
    catchup=False,
    max_active_tasks=64,
    default_args={"retries": 0},
    tags=["e2e"],
)
def e2e_triggerer_modes() -> None:
    @task
    def job_ids(**context: Any) -> dict[str, str]:
        return {str(k): str(v) for k, v in (context["dag_run"].conf or {})["jobs"].items()}

    @task
    def after_start(job: dict[str, Any]) -> dict[str, Any]:
        """Downstream of a wait that no worker ran: its XCom arrives all the same."""
        return {"job_id": job["job_id"], "status": job["status"], "started_at": time.time()}

    ids = job_ids()
    common: dict[str, Any] = {"poll_interval": 2, "max_poll_interval": 3, "adaptive_polling": False, "timeout": 600}
    worker = WitnessSensor(
        task_id="worker", job_id=_job("worker"), conn_id="tensorpix_default", deferrable=True, **common
    )
    end = WitnessSensor(
        task_id="end", job_id=_job("end"), conn_id="tensorpix_default", deferrable=True, end_from_trigger=True, **common
    )
    # No provider: the triggerer reads it from the connection's type.
    start = WitnessSensor(
        task_id="start",
        job_id=_job("start"),
        conn_id="tensorpix_default",
        start_from_trigger=True,
        end_from_trigger=True,
        **common,
    )
    start_failed = WitnessSensor(
        task_id="start_failed",
        job_id=_job("start_failed"),
        conn_id="tensorpix_default",
        start_from_trigger=True,
        end_from_trigger=True,
        **common,
    )
    start_soft = WitnessSensor(
        task_id="start_soft",
        job_id=_job("start_soft"),
        provider="tensorpix",
        start_from_trigger=True,
        end_from_trigger=True,
        soft_fail=True,
        **{**common, "timeout": 8},
    )
    # Create-and-wait ending in the triggerer: one worker start (the POST), none to resume.
    create_end = WitnessCreate(
        task_id="create_end",
        prompt="{{ dag_run.conf['create_prompt'] }}",
        extra_params={"sim": {"outcome": "stuck_queued"}},
        wait_for_completion=True,
        deferrable=True,
        end_from_trigger=True,
        **{k: v for k, v in common.items() if k != "adaptive_polling"},  # a create has no adaptive polling
    )
    ids >> [worker, end, start, start_failed, start_soft]
    after_start(start.output)
    after_start.override(task_id="after_create")(create_end.output)


e2e_triggerer_modes()
