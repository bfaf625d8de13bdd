"""E2E smoke DAG: a real deferral through the triggerer, with no dependency on the vidjobs provider.

Proves the harness (metadata DB, scheduler, LocalExecutor, triggerer, XCom through the REST API)
before any provider code is involved.
"""

from __future__ import annotations

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import dag, task


@dag(dag_id="e2e_smoke", schedule=None, catchup=False, tags=["e2e"])
def e2e_smoke() -> None:
    @task
    def produce() -> dict[str, object]:
        return {"answer": 42, "nested": {"b": 2, "a": 1}, "items": ["x", "y"]}

    # The target is rendered on the worker when the task starts, so it always lies 15 s ahead and the
    # sensor always defers, however slowly a loaded machine starts the task.
    wait = DateTimeSensorAsync(
        task_id="wait_deferred",
        target_time="{{ (macros.datetime.utcnow() + macros.timedelta(seconds=15)).isoformat() }}",
    )

    @task
    def consume(value: dict[str, object]) -> dict[str, object]:
        return {"got": value, "ok": True}

    wait >> consume(produce())


e2e_smoke()
