"""A failed job under soft_fail=True, waited for in poke mode and in deferrable mode.

Used by tests/dags/test_sensor_soft_fail.py. soft_fail is documented to skip the task when the wait
times out; a job that failed at the vendor is not a timeout, and must fail the task with
JobFailedError in every mode.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, chain, task
from vidjobs_dagtest_support import create_simulated_job, record_failure

from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

FAILING = {"queued_s": 0.5, "running_s": 2.0, "outcome": "failed", "error_code": "moderation_blocked"}

new_job = task(create_simulated_job)

with DAG(
    "vidjobs_sensor_soft_fail",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"trigger_rule": "all_done", "on_failure_callback": record_failure},
) as dag:
    steps = []
    for mode, extra in (("poke", {"mode": "poke"}), ("defer", {"deferrable": True})):
        job = new_job.override(task_id=f"job_{mode}")("aihubmix", FAILING)
        sensor = VideoJobSensor(
            task_id=f"failed_{mode}_soft",
            job_id=job,
            conn_id="aihubmix_default",
            poll_interval=0.3,
            timeout=60,
            soft_fail=True,
            **extra,
        )
        steps += [job, sensor]
    chain(*steps)
