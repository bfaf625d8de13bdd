"""E2E: a create task's retries and clears pay for one video; cancel_on_kill stops a killed wait's job.

Each DAG takes ``{"prompt": ...}`` (unique per run, so the harness counts the simulator's jobs by it)
and the simulated timeline in ``{"sim": {...}}``. Used by tests/e2e/test_e2e_billing.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator

SIM = "{{ {'sim': dag_run.conf['sim']} }}"
START = datetime(2024, 1, 1)

with DAG("e2e_reattach_worker_killed", schedule=None, start_date=START, catchup=False) as worker_killed:
    # (a) non-deferrable: the harness kill -9s the task process mid-wait; try 2 re-attaches.
    AIHubMixCreateVideoOperator(
        task_id="create",
        prompt="{{ dag_run.conf['prompt'] }}",
        extra_params=SIM,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=1,
        timeout=300,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )

with DAG("e2e_reattach_lost_create", schedule=None, start_date=START, catchup=False) as lost_create:
    # The simulator makes the job and holds its answer; the harness kill -9s the task process before the
    # id is recorded. Try 2 finds the job in the API's list: one video paid for.
    AIHubMixCreateVideoOperator(
        task_id="create",
        prompt="{{ dag_run.conf['prompt'] }}",
        extra_params=SIM,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        timeout=300,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )

with DAG("e2e_reattach_after_outage", schedule=None, start_date=START, catchup=False) as after_outage:
    # (b) deferrable: the API is down longer than the failure budget, so try 1 ends in an error.
    AIHubMixCreateVideoOperator(
        task_id="create",
        prompt="{{ dag_run.conf['prompt'] }}",
        extra_params=SIM,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        failure_budget=3,
        timeout=300,
        retries=1,
        retry_delay=timedelta(seconds=12),
    )

with DAG("e2e_reattach_clear", schedule=None, start_date=START, catchup=False) as clear:
    # (c) cleared after success: re-attaches to the succeeded job. (d) the prompt names the try: a new job.
    AIHubMixCreateVideoOperator(
        task_id="same_prompt",
        prompt="{{ dag_run.conf['prompt'] }} (same)",
        extra_params=SIM,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        timeout=300,
    )
    AIHubMixCreateVideoOperator(
        task_id="new_prompt",
        prompt="{{ dag_run.conf['prompt'] }} (take {{ ti.try_number }})",
        extra_params=SIM,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        timeout=300,
    )

with DAG("e2e_cancel_on_kill", schedule=None, start_date=START, catchup=False) as cancel:
    # Marked failed while deferred: the trigger's on_kill deletes the job. A triggerer kill -9 does not.
    AIHubMixCreateVideoOperator(
        task_id="create",
        prompt="{{ dag_run.conf['prompt'] }}",
        extra_params=SIM,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        timeout=600,
        cancel_on_kill=True,
    )
