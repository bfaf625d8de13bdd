"""A create whose answer is lost (used by tests/dags/test_reattach_dag.py).

The test makes the simulator commit the first create and cut its answer off (a connection reset), so
try 1 fails after the vendor made the job; try 2 must find that job in the API's list and wait on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG
from vidjobs_dagtest_support import record_failure

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator

with DAG(
    "vidjobs_lost_create",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"on_failure_callback": record_failure, "retry_delay": timedelta(0)},
) as dag:
    AIHubMixCreateVideoOperator(
        task_id="create",
        prompt="{{ dag_run.conf['prompt'] }}",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
        retries=2,
        extra_params={"sim": {"queued_s": 0, "running_s": 1.0}},
    )
