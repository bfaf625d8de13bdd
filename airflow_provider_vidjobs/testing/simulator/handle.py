"""``SimulatorHandle``: what ``start_simulator`` and the pytest fixture hand out."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import TracebackType
from typing import Any

from airflow_provider_vidjobs.testing.simulator import apis
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

    def key(self, api: str) -> str:
        """The first valid key of ``api`` at start-up (its ``SimApi.default_key`` unless configured)."""
        keys = self.config.keys.get(api, [])
        return keys[0] if keys else ""

    def __getattr__(self, name: str) -> Any:
        """``<api>_key``: :meth:`key` of that API (``sim.<api>_key`` for every registered API)."""
        if name.endswith("_key") and name[: -len("_key")] in apis.APIS:
            return self.key(name[: -len("_key")])
        raise AttributeError(name)

    @property
    def openai_base_url(self) -> str:
        """Base URL for the openai SDK: ``<url>/v1``."""
        return self.url + "/v1"

    def airflow_connections(self, **conn_ids: str) -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` environment variables pointing every registered API's connection here.

        The ids default to ``<api>_default``; pass ``<api>_conn_id="..."`` to change one.
        """
        unknown = set(conn_ids) - {f"{api}_conn_id" for api in apis.APIS}
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
        out: dict[str, str] = {}
        for api in apis.APIS:
            conn_id = conn_ids.get(f"{api}_conn_id", f"{api}_default")
            value = json.dumps({"conn_type": api, "host": self.url, "password": self.key(api)})
            out[f"AIRFLOW_CONN_{conn_id.upper()}"] = value
        return out

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
