"""A small client for Airflow's public REST API (``/api/v2``), as an operator of the deployment sees it.

``[core] simple_auth_manager_all_admins`` makes every request an admin request, so no token is needed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

TERMINAL_RUN_STATES = {"success", "failed"}
TERMINAL_TI_STATES = {"success", "failed", "skipped", "upstream_failed", "removed"}


class AirflowRestClient:
    """Typed helpers over ``/api/v2`` for triggering DAGs and reading their results."""

    def __init__(self, base_url: str, *, timeout: float = 30) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=f"{base_url}/api/v2", timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, **params: Any) -> Any:
        resp = self.http.get(path, params=params)
        resp.raise_for_status()
        return resp.json()

    # -- DAGs and runs -----------------------------------------------------------------------------

    def dag_exists(self, dag_id: str) -> bool:
        return self.http.get(f"/dags/{dag_id}").status_code == 200

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self._get("/importErrors", limit=100)["import_errors"])

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180, check: Callable[[], None] | None = None) -> None:
        """Wait until the dag-processor has serialized every DAG; report import errors on timeout."""
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while missing:
            if check is not None:
                check()
            missing = [d for d in missing if not self.dag_exists(d)]
            if not missing:
                return
            broken = [e for e in self.import_errors() if Path(e["filename"]).stem in missing]
            if broken:  # by convention a DAG's file is named after it: fail now, not at the timeout
                raise RuntimeError(f"DAG files failed to import: {broken}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAGs never appeared: {missing}; import errors: {self.import_errors()}")
            time.sleep(1)

    def unpause(self, dag_id: str) -> None:
        resp = self.http.patch(f"/dags/{dag_id}", json={"is_paused": False})
        resp.raise_for_status()

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, run_id: str | None = None) -> str:
        """Create a manual run (``logical_date`` null, as ``airflow dags trigger`` does); return its id."""
        run_id = run_id or f"e2e__{dag_id}__{uuid.uuid4().hex[:8]}"
        resp = self.http.post(
            f"/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": None, "conf": conf or {}},
        )
        if resp.status_code >= 400:
            raise RuntimeError(f"triggering {dag_id} failed: {resp.status_code} {resp.text}")
        return str(resp.json()["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self._get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_run(
        self,
        dag_id: str,
        run_id: str,
        timeout: float,
        check: Callable[[], None] | None = None,
        interval: float = 2,
    ) -> str:
        """Wait for a terminal run state; ``check`` is called each round (e.g. components alive)."""
        deadline = time.monotonic() + timeout
        while True:
            if check is not None:
                check()
            state = self.run_state(dag_id, run_id)
            if state in TERMINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                counts = self.state_counts(dag_id, run_id)
                raise TimeoutError(f"run {dag_id}/{run_id} still {state} after {timeout:.0f}s; tasks: {counts}")
            time.sleep(interval)

    # -- task instances ----------------------------------------------------------------------------

    def task_instances(self, dag_id: str, run_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
        """All task instances of a run (every map index), paging through the API's page limit."""
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": 100, "offset": offset, "order_by": "map_index"}
            if task_id is not None:
                params["task_id"] = task_id
            page = self._get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", **params)
            out.extend(page["task_instances"])
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                return out

    def state_counts(self, dag_id: str, run_id: str, task_id: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for ti in self.task_instances(dag_id, run_id, task_id):
            state = str(ti["state"])
            counts[state] = counts.get(state, 0) + 1
        return counts

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        path += f"/{map_index}/tries" if map_index >= 0 else "/tries"
        return list(self._get(path)["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        """The XCom value, parsed (the API returns the stored JSON, sometimes as a string)."""
        entry = self._get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}", map_index=map_index
        )
        value = entry["value"]
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def xcoms(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> dict[int, Any]:
        """``{map_index: value}`` of one task's XCom across all its map indexes."""
        out: dict[int, Any] = {}
        offset = 0
        while True:
            page = self._get(
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries",
                xcom_key=key,
                limit=100,
                offset=offset,
            )
            for entry in page["xcom_entries"]:
                out[int(entry["map_index"])] = self.xcom(dag_id, run_id, task_id, int(entry["map_index"]), key)
            offset += len(page["xcom_entries"])
            if not page["xcom_entries"] or offset >= page["total_entries"]:
                return out

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """The task's log for one try (worker and trigger output), one JSON object per line."""
        resp = self.http.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"map_index": map_index, "full_content": True},
            headers={"Accept": "application/json"},
        )
        resp.raise_for_status()
        content = resp.json()["content"]
        return "\n".join(json.dumps(entry) if not isinstance(entry, str) else entry for entry in content)
