"""The one retry policy: which failures are retried, and how long to wait before the next try.

Modelled on openai-python's client: 408, 429 and 5xx plus transport errors are retried; the server's
``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date, read in :mod:`.http.responses`) is
honoured up to a cap; otherwise
capped exponential backoff with full jitter. 400/401/403/404 are never retried.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

RETRYABLE_STATUSES = frozenset({408, 429})


def is_retryable_status(status_code: int) -> bool:
    """True for statuses that may succeed if sent again (408, 429, any 5xx)."""
    return status_code in RETRYABLE_STATUSES or status_code >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to send one request, and the waits between tries."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    #: The longest server-requested wait we honour; longer hints are capped to this.
    retry_after_cap: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be at least 1, not {self.max_attempts}")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.retry_after_cap < 0:
            raise ValueError("RetryPolicy waits must not be negative")

    def backoff(self, retry_number: int) -> float:
        """Full-jitter exponential backoff for the n-th retry (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, retry_number - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    def delay(self, retry_number: int, server_hint: float | None = None) -> float:
        """The wait before retry ``retry_number``: the server's hint (capped) or the backoff."""
        if server_hint is not None:
            return min(server_hint, self.retry_after_cap)
        return self.backoff(retry_number)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RetryPolicy:
        return cls(**dict(data or {}))


#: A single try: for callers (like the trigger) that own their own retry budget.
NO_RETRY = RetryPolicy(max_attempts=1)
