"""VideoJobSensor in every mode and every ending, one DAG run (used by tests/dags/test_sensor_dag.py).

Each sensor waits on a job that the task just before it creates in the simulator, and the tasks run
in one chain: so every job is still running when its sensor starts (dag.test() runs tasks one by one),
and a failing sensor does not stop the rest (``trigger_rule="all_done"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, chain, task
from vidjobs_dagtest_support import create_simulated_job, record_failure

from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

#: Timelines (simulated seconds). Long enough that a sensor still finds its job running: a 3.1.8
#: dag.test() on a loaded CI machine has started sensors more than 2.5 s after their job was created
#: (and then they never deferred, or never rescheduled). The failing one carries the vendor's code
#: and message.
RUNNING = {"queued_s": 0.5, "running_s": 5.0}
#: The poke task starts a few seconds after its job on a slow run (Airflow 3.1 dag.test): long enough for 2+ pokes.
POKED = {"queued_s": 0.5, "running_s": 6.0}
DONE = {"queued_s": 0, "running_s": 0}
FAILING = {
    **RUNNING,
    "outcome": "failed",
    "error_code": "moderation_blocked",
    "error_message": "The prompt was blocked by the moderation filter (simulated).",
}
#: Ends with a TensorPix status string nobody maps: without status_overrides it looks like it runs forever.
UNUSUAL = {**RUNNING, "outcome": "failed", "statuses": {"failed": "exported_to_cdn"}}
UNUSUAL_OVERRIDES = {"exported_to_cdn": "succeeded"}

new_job = task(create_simulated_job)

with DAG(
    "vidjobs_sensor_modes",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"trigger_rule": "all_done", "on_failure_callback": record_failure},
) as dag:
    steps: list[Any] = []

    def wait(job: Any, **kwargs: Any) -> VideoJobSensor:
        kwargs.setdefault("timeout", 60)  # a broken wait fails the run instead of hanging it
        sensor = VideoJobSensor(job_id=job, **kwargs)
        steps.extend([job, sensor])
        return sensor

    job_poke = new_job.override(task_id="job_poke")("tensorpix", POKED)
    wait(job_poke, task_id="poke", conn_id="tensorpix_default", mode="poke", poll_interval=0.3)

    job_reschedule = new_job.override(task_id="job_reschedule")("aihubmix", RUNNING, "slashy")
    wait(job_reschedule, task_id="reschedule", conn_id="aihubmix_default", mode="reschedule", poll_interval=0.5)

    job_defer = new_job.override(task_id="job_defer")("tensorpix", RUNNING)
    wait(job_defer, task_id="defer", provider="tensorpix", deferrable=True, poll_interval=0.3)

    job_done = new_job.override(task_id="job_done")("aihubmix", DONE, "slashy")
    wait(job_done, task_id="done", conn_id="aihubmix_default", deferrable=True, poll_interval=0.3)

    # A succeeded job ends the task in the trigger (dag.test() resumes it all the same, with no job: re-read).
    job_end = new_job.override(task_id="job_defer_end")("aihubmix", RUNNING, "slashy")
    wait(
        job_end,
        task_id="defer_end",
        conn_id="aihubmix_default",
        deferrable=True,
        end_from_trigger=True,
        poll_interval=0.3,
    )
    # Started in the triggerer on Airflow 3.3+ by the scheduler; dag.test() runs it as a deferrable sensor.
    job_start = new_job.override(task_id="job_start_trigger")("tensorpix", RUNNING)
    wait(
        job_start,
        task_id="start_trigger",
        conn_id="tensorpix_default",
        start_from_trigger=True,
        end_from_trigger=True,
        poll_interval=0.3,
    )

    job_failing = new_job.override(task_id="job_failing")("aihubmix", FAILING)
    wait(job_failing, task_id="failed_defer", conn_id="aihubmix_default", deferrable=True, poll_interval=0.3)
    failed_poke = VideoJobSensor(
        task_id="failed_poke", job_id=job_failing, conn_id="aihubmix_default", mode="poke", timeout=60
    )
    steps.append(failed_poke)

    job_unusual = new_job.override(task_id="job_unusual")("tensorpix", UNUSUAL)
    wait(
        job_unusual,
        task_id="override",
        conn_id="tensorpix_default",
        deferrable=True,
        poll_interval=0.3,
        status_overrides=UNUSUAL_OVERRIDES,
        timeout=20,
    )
    for task_id, extra in (
        ("timeout_defer", {"deferrable": True}),
        ("timeout_defer_soft", {"deferrable": True, "soft_fail": True}),
        ("timeout_poke_soft", {"mode": "poke", "soft_fail": True}),
    ):
        steps.append(
            VideoJobSensor(
                task_id=task_id, job_id=job_unusual, conn_id="tensorpix_default", poll_interval=0.3, timeout=1, **extra
            )
        )

    chain(*steps)
