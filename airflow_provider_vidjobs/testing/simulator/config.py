"""Start-up settings of a simulator (CLI flags and ``start_simulator`` arguments map onto these).

``POST /_sim/reset`` returns the simulator to exactly this configuration.
"""

from __future__ import annotations

import dataclasses
from typing import Any

DEFAULT_TENSORPIX_KEY = "sim-tensorpix-key"
DEFAULT_AIHUBMIX_KEY = "sk-sim-aihubmix-key"


@dataclasses.dataclass
class SimulatorConfig:
    """Everything a simulator starts with."""

    host: str = "127.0.0.1"
    port: int = 0
    #: Valid API keys per vendor (several may be valid at once; an empty list rejects everything).
    tensorpix_keys: list[str] = dataclasses.field(default_factory=lambda: [DEFAULT_TENSORPIX_KEY])
    aihubmix_keys: list[str] = dataclasses.field(default_factory=lambda: [DEFAULT_AIHUBMIX_KEY])
    #: Simulated seconds per real second (timelines, timestamps, URL expiry, timed faults).
    time_scale: float = 1.0
    #: Lifetime of TensorPix pre-signed storage URLs, simulated seconds.
    url_ttl_s: float = 3600.0
    #: Default ``openai-poll-after-ms`` header on AIHubMix video GETs (None: not sent).
    poll_after_ms: int | None = None
    #: Style of new AIHubMix ids: base64 (default), slashy, urlsafe, openai.
    aihubmix_id_style: str = "base64"
    #: Default timeline fields for new jobs (see ``Timeline``), e.g. ``{"queued_s": 5}``.
    timeline: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Global fault rules active from start-up (JSON objects, see ``faults``).
    faults: list[dict[str, Any]] = dataclasses.field(default_factory=list)
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

    @property
    def scheme(self) -> str:
        """``https`` when a certificate is configured, else ``http``."""
        return "https" if self.ssl_certfile else "http"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (the storage secret is not shown)."""
        out = dataclasses.asdict(self)
        out.pop("storage_secret", None)
        return out
