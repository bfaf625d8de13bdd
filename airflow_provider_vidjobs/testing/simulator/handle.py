"""``SimulatorHandle``: what ``start_simulator`` and the pytest fixture hand out."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

from airflow_provider_vidjobs.testing.simulator.config import SimulatorConfig
from airflow_provider_vidjobs.testing.simulator.control import SimulatorControl


class SimulatorHandle:
    """A running simulator: its URL, its keys, a control client, and ``stop()``."""

    def __init__(self, url: str, config: SimulatorConfig, stopper: Callable[[], None], *, process: Any = None) -> None:
        self.url = url
        self.config = config
        self.control = SimulatorControl(url, verify=config.ssl_certfile or True)
        self.process = process
        self._stopper: Callable[[], None] | None = stopper

    @property
    def tensorpix_key(self) -> str:
        """The first valid TensorPix key at start-up (``sim-tensorpix-key`` by default)."""
        return self.config.tensorpix_keys[0] if self.config.tensorpix_keys else ""

    @property
    def aihubmix_key(self) -> str:
        """The first valid AIHubMix key at start-up (``sk-sim-aihubmix-key`` by default)."""
        return self.config.aihubmix_keys[0] if self.config.aihubmix_keys else ""

    @property
    def openai_base_url(self) -> str:
        """Base URL for the openai SDK: ``<url>/v1``."""
        return self.url + "/v1"

    def airflow_connections(
        self, tensorpix_conn_id: str = "tensorpix_default", aihubmix_conn_id: str = "aihubmix_default"
    ) -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` environment variables pointing both connection types here."""

        def env(conn_id: str, conn_type: str, key: str) -> tuple[str, str]:
            value = json.dumps({"conn_type": conn_type, "host": self.url, "password": key})
            return f"AIRFLOW_CONN_{conn_id.upper()}", value

        return dict(
            [
                env(tensorpix_conn_id, "tensorpix", self.tensorpix_key),
                env(aihubmix_conn_id, "aihubmix", self.aihubmix_key),
            ]
        )

    def reset(self) -> None:
        """Back to the start-up configuration."""
        self.control.reset()

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        self.control.close()
        stopper, self._stopper = self._stopper, None
        if stopper is not None:
            stopper()

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SimulatorHandle {self.url}>"
