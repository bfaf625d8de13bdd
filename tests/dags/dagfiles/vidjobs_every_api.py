"""One deferred VideoJobSensor wait per registered video API, one DAG run (tests/dags/test_every_api_dag.py).

The APIs come from the registry, so an API added there gets a real dag.test() wait with no edit here:
its job is created in the simulator by the task just before the sensor, and the sensor defers to the
trigger through the API's default connection.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, chain, task
from vidjobs_dagtest_support import create_simulated_job, record_failure

from airflow_provider_vidjobs.hooks.registry import HOOKS
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

#: Still running when the sensor starts on a slow machine, so every wait really defers (a 3.1.8
#: dag.test() on a loaded CI machine has started a sensor more than 2.5 s after its job).
RUNNING = {"queued_s": 0.5, "running_s": 5.0}

new_job = task(create_simulated_job)

with DAG(
    "vidjobs_every_api",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"trigger_rule": "all_done", "on_failure_callback": record_failure},
) as dag:
    steps = []
    for api in HOOKS:
        job = new_job.override(task_id=f"job_{api}")(api, RUNNING)
        sensor = VideoJobSensor(
            task_id=f"wait_{api}",
            job_id=job,
            conn_id=HOOKS[api].default_conn_name,
            deferrable=True,
            poll_interval=0.3,
            timeout=60,
        )
        steps.extend([job, sensor])
    chain(*steps)
