"""The whole e2e stack of one run, in start order: PostgreSQL, simulator, Airflow; closed in reverse.

``close()`` always stops every process this run started (by process group), sweeps up any process still
carrying the run's marker in its environment, and removes the run's temp directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .deployment import AirflowDeployment, free_port
from .postgres import PostgresServer
from .processes import ProcessRegistry, kill_stragglers, pids_with_environ_marker
from .rest import AirflowRestClient

REPO_ROOT = Path(__file__).resolve().parents[3]
MARKER_ENV = "VIDJOBS_E2E_RUN"


@dataclass
class Peak:
    """Highest total PSS of this run's processes seen by the sampler."""

    rss_mb: float = 0.0


PEAK = Peak()


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


class MemorySampler(threading.Thread):
    """Samples the summed PSS of the run's processes every few seconds."""

    def __init__(self, marker: str, interval: float = 5) -> None:
        super().__init__(daemon=True, name="e2e-memory-sampler")
        self.marker = marker
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            total = sum(_pss_mb(pid) for pid in pids_with_environ_marker(self.marker))
            PEAK.rss_mb = max(PEAK.rss_mb, total)


class E2EStack:
    """Owns the temp dir, the process registry and every server of one e2e run."""

    def __init__(self, dags_dir: Path, parallelism: int = 8) -> None:
        self.dags_dir = dags_dir
        self.parallelism = parallelism
        self.work = Path(tempfile.mkdtemp(prefix="vidjobs-e2e-"))
        self.marker = str(self.work)
        os.environ[MARKER_ENV] = self.marker  # inherited by every child: the straggler sweep finds them
        self.registry = ProcessRegistry(self.work / "proc-logs")
        self.pg: PostgresServer | None = None
        self.airflow: AirflowDeployment | None = None
        self.rest: AirflowRestClient | None = None
        self.sampler = MemorySampler(self.marker)
        self.timings: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------------------

    def _timed(self, label: str, started: float) -> None:
        self.timings[label] = time.monotonic() - started

    def bundles(self) -> dict[str, Path]:
        bundles = {"e2e_dags": self.dags_dir}
        example_dags = REPO_ROOT / "example_dags"
        if example_dags.is_dir():
            bundles["vidjobs_examples"] = example_dags
        return bundles

    def connections(self) -> dict[str, dict[str, Any]]:
        """``AIRFLOW_CONN_*`` connections given to every component (none until the simulator runs)."""
        return {}

    def start(self) -> None:
        self.sampler.start()
        t = time.monotonic()
        self.pg = PostgresServer(self.work / "pg", free_port(), self.registry, {MARKER_ENV: self.marker})
        self.pg.start()
        self._timed("postgres", t)

        t = time.monotonic()
        self.airflow = AirflowDeployment(
            home=self.work / "airflow_home",
            registry=self.registry,
            sql_alchemy_conn=self.pg.url,
            bundles=self.bundles(),
            connections=self.connections(),
            parallelism=self.parallelism,
            extra_env={MARKER_ENV: self.marker},
        )
        self.airflow.migrate()
        self._timed("db migrate", t)

        t = time.monotonic()
        self.airflow.start()
        self.rest = AirflowRestClient(self.airflow.base_url)
        self._timed("airflow healthy", t)

    def close(self) -> None:
        """Stop everything and remove the temp dir; never raises (errors are printed)."""
        errors: list[str] = []
        if self.rest is not None:
            with contextlib.suppress(Exception):
                self.rest.close()
        errors += self.registry.stop_all()
        self.sampler.stopped.set()
        stragglers = kill_stragglers(self.marker)
        if stragglers:
            errors.append(f"killed stragglers that had left their process groups: {stragglers}")
        keep = os.environ.get("VIDJOBS_E2E_ARTIFACTS")
        if keep:
            with contextlib.suppress(OSError):
                dest = Path(keep)
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copytree(self.work / "proc-logs", dest / "proc-logs", dirs_exist_ok=True)
                if (self.work / "airflow_home" / "logs").exists():
                    shutil.copytree(self.work / "airflow_home" / "logs", dest / "airflow-logs", dirs_exist_ok=True)
        shutil.rmtree(self.work, ignore_errors=True)
        if self.work.exists():
            errors.append(f"could not remove {self.work}")
        os.environ.pop(MARKER_ENV, None)
        for err in errors:
            print(f"[e2e teardown] {err}")

    # -- helpers for scenarios ---------------------------------------------------------------------

    def check(self) -> None:
        """Raise if a component that must always run has died."""
        assert self.airflow is not None
        self.airflow.check_alive("api-server", "scheduler", "dag-processor")

    def run_dag(self, dag_id: str, conf: dict[str, Any] | None = None, timeout: float = 300) -> tuple[str, str]:
        """Trigger ``dag_id`` and wait for a terminal state; returns ``(run_id, state)``."""
        assert self.rest is not None
        self.rest.wait_for_dags([dag_id], check=self.check)
        self.rest.unpause(dag_id)
        run_id = self.rest.trigger(dag_id, conf)
        return run_id, self.rest.wait_run(dag_id, run_id, timeout, check=self.check)
