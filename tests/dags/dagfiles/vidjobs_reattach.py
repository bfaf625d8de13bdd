"""Retries of a create-and-wait task (used by tests/dags/test_reattach_dag.py).

``same_request``: each try's wait times out (1.2 s) before the 2.4 s video is done; the retries
re-attach to the one job, and the third try sees it succeeded. ``new_prompt``: the prompt names the
try, so try 2 is a new request and creates (and pays for) a second video.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG
from vidjobs_dagtest_support import record_failure

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator

with DAG(
    "vidjobs_reattach",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"on_failure_callback": record_failure, "retry_delay": timedelta(0)},
) as dag:
    AIHubMixCreateVideoOperator(
        task_id="same_request",
        prompt="{{ dag_run.conf['prompt'] }} (same request)",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
        timeout=1.2,
        retries=3,
        extra_params={"sim": {"queued_s": 0, "running_s": 2.4}},
    )
    AIHubMixCreateVideoOperator(
        task_id="new_prompt",
        prompt="{{ dag_run.conf['prompt'] }} (take {{ ti.try_number }})",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
        timeout=1.2,
        retries=1,
        extra_params="{{ {'sim': {'queued_s': 0, 'running_s': 30 if ti.try_number == 1 else 0.2}} }}",
    )
