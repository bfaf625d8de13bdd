"""The package's own simulator (``vidjobs-simulator``) as a background process of the run.

It is started with the run's canary API keys, so the secret scan can later prove the keys leaked
nowhere; the control API (``/_sim/...``) is driven through the package's ``SimulatorControl``.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from airflow_provider_vidjobs.testing.simulator.apis import APIS
from airflow_provider_vidjobs.testing.simulator.control import SimulatorControl

from .processes import ManagedProcess, ProcessRegistry, wait_until

READY_PREFIX = "vidjobs-simulator listening on "


class SimulatorProcess:
    """``vidjobs-simulator --host 127.0.0.1 --port 0`` plus a control client once it is listening."""

    def __init__(self, registry: ProcessRegistry, env: dict[str, str]) -> None:
        self.registry = registry
        self.env = env
        tag = secrets.token_hex(12)
        #: One valid key per registered API. The canaries must never show up in Airflow's logs or metadata DB.
        self.keys = {api: f"{api}-canary-{tag}" for api in APIS}
        #: A second TensorPix key that a scenario revokes (also a canary).
        self.revocable_key = f"tpx-canary-revocable-{tag}"
        self.proc: ManagedProcess | None = None
        self.url = ""
        self._control: SimulatorControl | None = None

    @property
    def tensorpix_key(self) -> str:
        return self.keys["tensorpix"]

    @property
    def aihubmix_key(self) -> str:
        return self.keys["aihubmix"]

    @property
    def canaries(self) -> list[str]:
        return [*self.keys.values(), self.revocable_key]

    @property
    def control(self) -> SimulatorControl:
        assert self._control is not None, "simulator not started"
        return self._control

    def _argv(self) -> list[str]:
        script = Path(sys.executable).parent / "vidjobs-simulator"
        head = (
            [str(script)]
            if script.exists()
            else [sys.executable, "-m", "airflow_provider_vidjobs.testing.simulator.cli"]
        )
        keys = [(api, key) for api, key in self.keys.items()] + [("tensorpix", self.revocable_key)]
        flags = [arg for api, key in keys for arg in (f"--{api.replace('_', '-')}-key", key)]
        return [*head, "--host", "127.0.0.1", "--port", "0", *flags]

    def _read_url(self) -> bool:
        assert self.proc is not None
        self.proc.check_alive()
        for line in self.proc.log_path.read_text(errors="replace").splitlines():
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                return True
        return False

    def start(self) -> None:
        self.proc = self.registry.start("simulator", self._argv(), self.env)
        wait_until(self._read_url, timeout=60, interval=0.2, what="the simulator to print its URL")
        self._control = SimulatorControl(self.url)
        wait_until(self.control.health, timeout=30, interval=0.2, what="the simulator's /_sim/health")

    def close(self) -> None:
        if self._control is not None:
            self._control.close()

    def connection(self, conn_type: str, key: str) -> dict[str, object]:
        """A connection (``AIRFLOW_CONN_*`` JSON form) to this simulator with ``key``."""
        return {"conn_type": conn_type, "host": self.url, "password": key}
