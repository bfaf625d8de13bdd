"""The whole e2e stack of one run, in start order: PostgreSQL, simulator, Airflow; closed in reverse.

``close()`` always stops every process this run started (by process group), sweeps up any process still
carrying the run's marker in its environment, and removes the run's temp directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .deployment import AirflowDeployment, free_port
from .postgres import PostgresServer
from .processes import ManagedProcess, ProcessRegistry, kill_stragglers, pids_with_environ_marker, wait_until
from .report import TIMINGS
from .rest import AirflowRestClient
from .secrets_scan import ScanReport, scan_db
from .simulator import SimulatorProcess

REPO_ROOT = Path(__file__).resolve().parents[3]
MARKER_ENV = "VIDJOBS_E2E_RUN"
COMPLETIONS_ENV = "VIDJOBS_E2E_COMPLETIONS"
DB_CONN_ID = "tensorpix_db"


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

    def __init__(self, dags_dir: Path, parallelism: int = 8, lineage: bool = False) -> None:
        self.dags_dir = dags_dir
        self.parallelism = parallelism
        self.work = Path(tempfile.mkdtemp(prefix="vidjobs-e2e-"))
        self.marker = str(self.work)
        os.environ[MARKER_ENV] = self.marker  # inherited by every child: the straggler sweep finds them
        self.registry = ProcessRegistry(self.work / "proc-logs")
        self.pg: PostgresServer | None = None
        self.sim: SimulatorProcess | None = None
        #: Every resumption of an e2e wait appends one JSON line here (see dags/e2e_video_waits.py).
        self.completions_file = self.work / "completions.jsonl"
        #: With ``lineage``, every component writes its OpenLineage events here, one file per event
        #: (OpenLineage's file transport; one file each, so processes never interleave their lines).
        self.lineage_dir: Path | None = self.work / "openlineage" if lineage else None
        self.airflow: AirflowDeployment | None = None
        self.rest: AirflowRestClient | None = None
        self.sampler = MemorySampler(self.marker)
        self.timings: dict[str, float] = {}
        #: Canary hits in DB rows seen WHILE waits were deferred (trigger rows vanish once they fire).
        self.secret_report = ScanReport()
        #: triggerer process name -> its ``job`` row id
        self.triggerer_jobs: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------------------

    def _timed(self, label: str, started: float) -> None:
        self.timings[label] = TIMINGS[label] = time.monotonic() - started

    def bundles(self) -> dict[str, Path]:
        bundles = {"e2e_dags": self.dags_dir}
        example_dags = REPO_ROOT / "example_dags"
        if example_dags.is_dir():
            bundles["vidjobs_examples"] = example_dags
        return bundles

    def connections(self) -> dict[str, dict[str, Any]]:
        """``AIRFLOW_CONN_*`` connections, in EVERY component's environment (the triggerer's too)."""
        assert self.sim is not None
        conns = {f"{api}_default": self.sim.connection(api, key) for api, key in self.sim.keys.items()}
        conns["tensorpix_revocable"] = self.sim.connection("tensorpix", self.sim.revocable_key)
        return conns

    def add_db_connection(self) -> None:
        """``tensorpix_db`` lives only in the metadata DB: the triggerer must find it via the API/DB."""
        assert self.airflow is not None
        assert self.sim is not None
        self.airflow.cli(
            "connections",
            "add",
            DB_CONN_ID,
            "--conn-type",
            "tensorpix",
            "--conn-host",
            self.sim.url,
            "--conn-password",
            self.sim.tensorpix_key,
        )
        stored = json.loads(self.airflow.cli("connections", "get", DB_CONN_ID, "--output", "json"))
        conn_type = stored[0]["conn_type"] if isinstance(stored, list) else stored["conn_type"]
        # Without the provider's registration Airflow silently stores 'generic' here.
        assert conn_type == "tensorpix", f"{DB_CONN_ID} stored as {conn_type!r}, not 'tensorpix'"

    @staticmethod
    def check_drivers() -> None:
        """Airflow needs psycopg2 (sync) and asyncpg (async engine) for a PostgreSQL metadata DB."""
        missing = [m for m in ("psycopg2", "asyncpg") if importlib.util.find_spec(m) is None]
        if missing:
            raise RuntimeError(
                f"{', '.join(missing)} not installed in {sys.executable}: run 'make e2e-deps' "
                "(pip install psycopg2-binary asyncpg)"
            )

    def start(self) -> None:
        self.check_drivers()
        self.sampler.start()
        t = time.monotonic()
        self.pg = PostgresServer(self.work / "pg", free_port(), self.registry, {MARKER_ENV: self.marker})
        self.pg.start()
        self._timed("postgres", t)

        t = time.monotonic()
        self.sim = SimulatorProcess(self.registry, {**os.environ, MARKER_ENV: self.marker})
        self.sim.start()
        self._timed("simulator", t)

        t = time.monotonic()
        self.airflow = AirflowDeployment(
            home=self.work / "airflow_home",
            registry=self.registry,
            sql_alchemy_conn=self.pg.url,
            bundles=self.bundles(),
            connections=self.connections(),
            parallelism=self.parallelism,
            extra_env={
                MARKER_ENV: self.marker,
                COMPLETIONS_ENV: str(self.completions_file),
                # The example DAGs poll every 15 s by default; simulated jobs take seconds.
                "VIDJOBS_EXAMPLE_POLL_SECONDS": "2",
                **self.lineage_env(),
            },
        )
        self.airflow.migrate()
        self.add_db_connection()
        self._timed("db migrate", t)

        t = time.monotonic()
        self.airflow.start(triggerer=False)
        self.start_triggerer()
        self.airflow.wait_healthy()
        self.rest = AirflowRestClient(self.airflow.base_url)
        self._timed("airflow healthy", t)

    def lineage_env(self) -> dict[str, str]:
        """The OpenLineage provider's file transport, when this stack records lineage."""
        if self.lineage_dir is None:
            return {}
        self.lineage_dir.mkdir(parents=True, exist_ok=True)
        transport = {"type": "file", "log_file_path": str(self.lineage_dir / "event"), "append": False}
        return {
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "vidjobs-e2e",
            # Off everywhere until a scenario turns it on in the scheduler (see set_scheduler_lineage).
            "AIRFLOW__OPENLINEAGE__DISABLED": "True",
        }

    def set_scheduler_lineage(self, on: bool) -> None:
        """Restart the scheduler (whose LocalExecutor forks the task processes) with OpenLineage on or off.

        Airflow refuses to parse a DAG with an ``end_from_trigger`` task while any listener is loaded
        (``dagbag.bag_dag``), and OpenLineage's is one: so lineage is on only while a scenario checks it,
        and never in the dag-processor.
        """
        if self.lineage_dir is None or self.airflow is None:
            return
        old = self.registry.get("scheduler")
        self.registry.stop(old)
        self.registry.procs.remove(old)  # stopped on purpose: not a component that died (same log file)
        self.airflow.start_component("scheduler", env={"AIRFLOW__OPENLINEAGE__DISABLED": "False" if on else "True"})
        self.airflow.wait_healthy()

    def close(self) -> None:
        """Stop everything and remove the temp dir; never raises (errors are printed)."""
        errors: list[str] = []
        if self.rest is not None:
            with contextlib.suppress(Exception):
                self.rest.close()
        if self.sim is not None:
            with contextlib.suppress(Exception):
                self.sim.close()
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

    # -- triggerers ---------------------------------------------------------------------------------

    def triggerer_job_ids(self, running_only: bool = False) -> set[str]:
        assert self.pg is not None
        sql = "SELECT id FROM job WHERE job_type = 'TriggererJob'"
        if running_only:
            sql += " AND state = 'running'"
        return set(self.pg.psql("airflow", sql).split())

    def start_triggerer(self) -> ManagedProcess:
        """Start a triggerer and learn its ``job`` row id (``trigger.triggerer_id`` points to it)."""
        assert self.airflow is not None
        before = self.triggerer_job_ids()
        proc = self.airflow.start_triggerer()
        found: list[str] = []

        def registered() -> bool:
            proc.check_alive()
            found[:] = sorted(self.triggerer_job_ids() - before)
            return bool(found)

        wait_until(registered, timeout=90, interval=0.5, what=f"{proc.name} to register its job row")
        self.triggerer_jobs[proc.name] = found[0]
        return proc

    def live_triggerers(self) -> list[ManagedProcess]:
        return [p for p in self.registry.procs if p.name.startswith("triggerer") and p.alive()]

    def kill_triggerer(self, proc: ManagedProcess) -> None:
        """``kill -9`` the triggerer's whole process group (supervisor and trigger runner)."""
        self.registry.kill9(proc)
        assert not proc.alive()

    # -- helpers for scenarios ---------------------------------------------------------------------

    def snapshot_secrets(self, label: str) -> None:
        """Scan trigger/next_kwargs/xcom/rendered-field rows now (call while waits are deferred)."""
        assert self.pg is not None
        assert self.sim is not None
        self.secret_report.merge(scan_db(self.pg, self.sim.canaries, label))

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
