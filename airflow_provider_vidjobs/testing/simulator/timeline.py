"""A job's scripted life: how long it queues and runs, how it ends, and how the API spells its phases.

A timeline is set when a job is created (the ``"sim"`` key of the vendor create body, or the control
API) and can be changed while the job waits. All durations are simulated seconds (see ``SimClock``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

#: How a job ends. ``stuck`` runs forever; ``stuck_queued`` never leaves the queue.
OUTCOMES = ("completed", "failed", "stuck", "stuck_queued")

#: Default wire spellings per phase, for APIs whose status strings a test may script (``statuses``).
DEFAULT_STATUSES: dict[str, str] = {
    "queued": "queued",
    "running": "processing",
    "completed": "completed",
    "failed": "failed",
}


class TimelineError(ValueError):
    """A timeline field is unknown or has a value of the wrong type."""


@dataclasses.dataclass
class Timeline:
    """Per-job script. Every field is optional in requests; defaults keep tests fast."""

    queued_s: float = 0.5
    running_s: float = 1.5
    outcome: str = "completed"
    error_code: str = "generation_failed"
    error_message: str = "The video could not be generated (simulated failure)."
    #: Amplitude (percent points) of random noise added to each progress reading; may go backwards.
    progress_noise: float = 0.0
    #: Progress reported by a ``stuck`` job once its running time is over.
    stuck_progress: float = 99.0
    #: Poll hint (ms) an API that sends one puts on GETs of this job (None: the server default).
    poll_after_ms: int | None = None
    #: Size of the video asset in bytes; None serves the small real MP4, larger sizes pad it.
    asset_size_bytes: int | None = None
    #: Lifetime of pre-signed storage URLs (None: the server default).
    url_ttl_s: float | None = None
    #: How long a completed job's assets stay downloadable (an API's ``expires_at``), seconds.
    assets_ttl_s: float = 86400.0
    #: Fixed ``started_at`` / ``completed_at`` (unix seconds) reported instead of the computed ones.
    started_at: float | None = None
    completed_at: float | None = None
    #: Scriptable status spellings per phase: keys ``queued``, ``running``, ``completed``, ``failed``.
    statuses: dict[str, str] = dataclasses.field(default_factory=lambda: dict(DEFAULT_STATUSES))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (control API)."""
        return dataclasses.asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> Timeline:
        """A copy with ``changes`` applied; raises ``TimelineError`` on unknown keys or bad values."""
        new = dataclasses.replace(self, statuses=dict(self.statuses))
        for key, raw in changes.items():
            if key not in _FIELD_TYPES:
                raise TimelineError(f"unknown timeline field {key!r}; known: {', '.join(sorted(_FIELD_TYPES))}")
            setattr(new, key, _coerce(key, _FIELD_TYPES[key], raw, current=new))
        if new.outcome not in OUTCOMES:
            raise TimelineError(f"outcome must be one of {', '.join(OUTCOMES)}, got {new.outcome!r}")
        if new.queued_s < 0 or new.running_s < 0:
            raise TimelineError("queued_s and running_s must be >= 0")
        if new.asset_size_bytes is not None and new.asset_size_bytes < 0:
            raise TimelineError("asset_size_bytes must be >= 0")
        return new


_FIELD_TYPES: dict[str, str] = {
    "queued_s": "float",
    "running_s": "float",
    "outcome": "str",
    "error_code": "str",
    "error_message": "str",
    "progress_noise": "float",
    "stuck_progress": "float",
    "poll_after_ms": "int?",
    "asset_size_bytes": "int?",
    "url_ttl_s": "float?",
    "assets_ttl_s": "float",
    "started_at": "float?",
    "completed_at": "float?",
    "statuses": "statuses",
}


def _coerce(key: str, kind: str, raw: Any, *, current: Timeline) -> Any:
    """Turn a JSON or form value (form values are strings) into the field's type."""
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    if raw is None or (optional and isinstance(raw, str) and raw.lower() in ("", "null", "none")):
        if optional:
            return None
        raise TimelineError(f"timeline field {key!r} cannot be null")
    try:
        if base == "float":
            if isinstance(raw, bool):
                raise TypeError
            return float(raw)
        if base == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise TypeError
            return int(raw)
        if base == "str":
            return str(raw)
        if isinstance(raw, str):
            raw = json.loads(raw)
        if not isinstance(raw, Mapping):
            raise TypeError
        unknown = set(raw) - set(DEFAULT_STATUSES)
        if unknown:
            raise TimelineError(f"statuses keys must be among queued/running/completed/failed, got {unknown}")
        return {**current.statuses, **{str(k): str(v) for k, v in raw.items()}}
    except (TypeError, ValueError) as exc:
        if isinstance(exc, TimelineError):
            raise
        raise TimelineError(f"timeline field {key!r} has a bad value {raw!r} (expected {kind})") from None
