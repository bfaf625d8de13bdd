"""A real Airflow 3 deployment on this machine: api-server, scheduler, dag-processor, triggerer(s).

All components share one environment (``env``): a temp ``AIRFLOW_HOME``, the private PostgreSQL as the
metadata DB, LocalExecutor with small parallelism, DAG bundles for the example and e2e DAGs, and the
``AIRFLOW_CONN_*`` connections, so the triggerer resolves connections exactly as the workers do.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from .processes import ManagedProcess, ProcessRegistry, wait_until

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class AirflowDeployment:
    """Environment, CLI and component lifecycle of one Airflow installation."""

    def __init__(
        self,
        *,
        home: Path,
        registry: ProcessRegistry,
        sql_alchemy_conn: str,
        bundles: Mapping[str, Path],
        connections: Mapping[str, Mapping[str, object]],
        parallelism: int = 8,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.home = home
        self.registry = registry
        self.api_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.python = sys.executable
        home.mkdir(parents=True, exist_ok=True)
        bundle_list = [
            {
                "name": name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(path), "refresh_interval": 5},
            }
            for name, path in bundles.items()
        ]
        # Start from the caller's environment minus anything Airflow would read from it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env["PATH"] = f"{Path(self.python).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(parallelism),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__DAGS_FOLDER": str(next(iter(bundles.values()))),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "1024",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "2",
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundle_list),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
                # A triggerer takes every unassigned trigger up to its capacity in one loop, so which of two
                # holds the HA scenario's 200 waits was down to loop timing (one rehearsal: 190 and 10).
                # 150 makes the other hold at least 50, and still fits what a survivor takes over (<= 100).
                "AIRFLOW__TRIGGERER__CAPACITY": "150",
            }
        )
        for conn_id, spec in connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(spec)
        env.update(extra_env or {})
        self.env = env
        self._triggerer_count = 0

    # -- CLI ---------------------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 300) -> str:
        """Run ``airflow <args>`` to completion in the deployment's environment; return stdout."""
        out = subprocess.run(
            [self.python, "-m", "airflow", *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args[:3])} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
            )
        return out.stdout

    def migrate(self) -> None:
        self.cli("db", "migrate", timeout=600)

    # -- components --------------------------------------------------------------------------------

    def start_component(
        self, component: str, *args: str, name: str | None = None, env: dict[str, str] | None = None
    ) -> ManagedProcess:
        return self.registry.start(
            name or component,
            [self.python, "-m", "airflow", component, *args],
            {**self.env, **(env or {})},
            cwd=self.home,
        )

    def start_triggerer(self) -> ManagedProcess:
        """Start one more triggerer (named triggerer-1, triggerer-2, ...); no log server: ports clash."""
        self._triggerer_count += 1
        return self.start_component("triggerer", "--skip-serve-logs", name=f"triggerer-{self._triggerer_count}")

    def start(self, triggerer: bool = True) -> None:
        """Start api-server, scheduler, dag-processor (and a triggerer); with a triggerer, wait until healthy."""
        self.start_component("api-server", "--host", "127.0.0.1", "--port", str(self.api_port))
        self.start_component("scheduler")
        self.start_component("dag-processor")
        if triggerer:
            self.start_triggerer()
            self.wait_healthy()

    def running(self) -> list[ManagedProcess]:
        return [p for p in self.registry.procs if p.name != "postgres" and p.alive()]

    def check_alive(self, *names: str) -> None:
        """Fail fast with the dead component's last output."""
        for proc in self.registry.procs:
            if not names or proc.name in names:
                if proc.name.startswith("triggerer") and not names:
                    continue  # scenarios kill triggerers on purpose
                proc.check_alive()

    def health(self) -> dict[str, object] | None:
        try:
            resp = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        except httpx.HTTPError:
            return None
        if resp.status_code != 200:
            return None
        return resp.json()  # type: ignore[no-any-return]

    def healthy(
        self, components: tuple[str, ...] = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    ) -> bool:
        self.check_alive("api-server", "scheduler", "dag-processor")
        health = self.health()
        if health is None:
            return False
        return all(
            isinstance(health.get(c), dict) and health[c].get("status") == "healthy"  # type: ignore[union-attr]
            for c in components
        )

    def wait_healthy(self, timeout: float = 180) -> None:
        wait_until(self.healthy, timeout=timeout, interval=1, what="GET /api/v2/monitor/health all healthy")

    def log_files(self) -> list[Path]:
        """Every log this deployment wrote: task and trigger logs plus the components' own output."""
        files = [p for p in (self.home / "logs").rglob("*") if p.is_file()]
        files += [p.log_path for p in self.registry.procs]
        return files
