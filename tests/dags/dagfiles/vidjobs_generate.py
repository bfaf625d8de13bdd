"""One deferred GenerateVideoOperator per registered API that can create, one DAG run
(tests/dags/test_generate_dag.py).

The APIs come from the registry and each request is the simulator's example create request for that API
(``ContractFacts.create_request``), so an API that gains a create gets this run with no edit here.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, chain
from vidjobs_dagtest_support import record_failure

from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.operators import GenerateVideoOperator
from airflow_provider_vidjobs.testing.simulator.apis import APIS

#: Still running when the task defers, so every wait really goes through the trigger.
RUNNING = {"queued_s": 0.5, "running_s": 3.0}
CREATE_APIS = [api for api in HOOKS if api in APIS and hook_class(api).can_create]

with DAG(
    "vidjobs_generate",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"trigger_rule": "all_done", "on_failure_callback": record_failure},
) as dag:
    chain(
        *(
            GenerateVideoOperator(
                task_id=f"generate_{api}",
                conn_id=HOOKS[api].default_conn_name,
                request={**APIS[api].contract.create_request, "extra_params": {"sim": RUNNING}},
                wait_for_completion=True,
                deferrable=True,
                poll_interval=0.3,
                timeout=60,
            )
            for api in CREATE_APIS
        )
    )
