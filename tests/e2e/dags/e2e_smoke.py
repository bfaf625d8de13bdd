"""E2E smoke DAG: a real deferral through the triggerer, with no dependency on the vidjobs provider.

Proves the harness (metadata DB, scheduler, LocalExecutor, triggerer, XCom through the REST API)
before any provider code is involved.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import dag, task


@dag(dag_id="e2e_smoke", schedule=None, catchup=False, tags=["e2e"])
def e2e_smoke() -> None:
    @task
    def produce() -> dict[str, object]:
        return {"answer": 42, "nested": {"b": 2, "a": 1}, "items": ["x", "y"]}

    # No upstream: starts right after the run is created, well before run_after + 20 s.
    wait = TimeDeltaSensor(task_id="wait_deferred", delta=timedelta(seconds=20), deferrable=True)

    @task
    def consume(value: dict[str, object]) -> dict[str, object]:
        return {"got": value, "ok": True}

    wait >> consume(produce())


e2e_smoke()
