"""Start-up settings of a simulator (CLI flags and ``start_simulator`` arguments map onto these).

``POST /_sim/reset`` returns the simulator to exactly this configuration. Per-API settings come from the
API table: ``<api>_keys=[...]`` (valid keys of one API) and each API's options (``SimApi.options``) are
accepted as keywords and read back as attributes, e.g. ``SimulatorConfig(<api>_keys=["k"]).<api>_keys``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from airflow_provider_vidjobs.testing.simulator import apis, routing


def default_keys() -> dict[str, list[str]]:
    """Each registered API's default key."""
    return {name: [spec.default_key] for name, spec in apis.APIS.items()}


@dataclasses.dataclass(init=False)
class SimulatorConfig:
    """Everything a simulator starts with."""

    host: str = "127.0.0.1"
    port: int = 0
    #: Valid API keys per API (several may be valid at once; an empty list rejects everything).
    keys: dict[str, list[str]] = dataclasses.field(default_factory=default_keys)
    #: Simulated seconds per real second (timelines, timestamps, URL expiry, timed faults).
    time_scale: float = 1.0
    #: Lifetime of pre-signed storage URLs, simulated seconds.
    url_ttl_s: float = 3600.0
    #: Default poll hint (ms) on job GETs of APIs that send one (None: not sent).
    poll_after_ms: int | None = None
    #: Per-API options by name (``SimApi.options``; defaults filled in).
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Default timeline fields for new jobs (see ``Timeline``), e.g. ``{"queued_s": 5}``.
    timeline: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Global fault rules active from start-up (JSON objects, see ``faults``).
    faults: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: Endpoints the server does not have (a gateway without a list route): route template -> the status
    #: answered, in the API's own error shape (a list of templates means 404). See ``routing.disabled_endpoints``.
    disabled_endpoints: dict[str, int] = dataclasses.field(default_factory=dict)
    #: Seed for ids and progress noise (None: random).
    seed: int | None = None
    #: HMAC secret for storage URLs (None: random per process).
    storage_secret: str | None = None
    #: Seconds an idle keep-alive connection stays open.
    keep_alive_timeout_s: float = 15.0
    #: uvicorn log level.
    log_level: str = "warning"
    #: Serve HTTPS with this certificate (PEM; may be followed by its CA chain) and private key.
    #: The control client trusts the certificate file, so a self-signed one works.
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        keys: dict[str, list[str]] | None = None,
        time_scale: float = 1.0,
        url_ttl_s: float = 3600.0,
        poll_after_ms: int | None = None,
        options: dict[str, Any] | None = None,
        timeline: dict[str, Any] | None = None,
        faults: list[dict[str, Any]] | None = None,
        disabled_endpoints: dict[str, int] | list[str] | None = None,
        seed: int | None = None,
        storage_secret: str | None = None,
        keep_alive_timeout_s: float = 15.0,
        log_level: str = "warning",
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        **per_api: Any,
    ) -> None:
        known = apis.options()
        self.keys = {**default_keys(), **{k: list(v) for k, v in (keys or {}).items()}}
        self.options = {name: opt.default for name, opt in known.items()} | dict(options or {})
        for name, value in per_api.items():
            if name.endswith("_keys") and name[: -len("_keys")] in apis.APIS:
                self.keys[name[: -len("_keys")]] = list(value)
            elif name in known:
                self.options[name] = value
            else:
                raise TypeError(f"SimulatorConfig got an unexpected keyword argument {name!r}")
        self.host = host
        self.port = port
        self.time_scale = time_scale
        self.url_ttl_s = url_ttl_s
        self.poll_after_ms = poll_after_ms
        self.timeline = dict(timeline or {})
        self.faults = list(faults or [])
        self.disabled_endpoints = routing.disabled_endpoints(disabled_endpoints)
        self.seed = seed
        self.storage_secret = storage_secret
        self.keep_alive_timeout_s = keep_alive_timeout_s
        self.log_level = log_level
        self.ssl_certfile = ssl_certfile
        self.ssl_keyfile = ssl_keyfile

    def __getattr__(self, name: str) -> Any:
        """``<api>_keys`` and API options as attributes (the keywords ``__init__`` takes)."""
        fields = self.__dict__
        if name.endswith("_keys") and "keys" in fields and name[: -len("_keys")] in fields["keys"]:
            return fields["keys"][name[: -len("_keys")]]
        if "options" in fields and name in fields["options"]:
            return fields["options"][name]
        raise AttributeError(name)

    @property
    def scheme(self) -> str:
        """``https`` when a certificate is configured, else ``http``."""
        return "https" if self.ssl_certfile else "http"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, per-API settings flat (``<api>_keys``, options); the storage secret is not shown."""
        out = dataclasses.asdict(self)
        out.pop("storage_secret", None)
        for api, values in out.pop("keys").items():
            out[f"{api}_keys"] = values
        out.update(out.pop("options"))
        return out
