"""The one retry loop of API calls, sync and async: which failures retry, how long to wait, when to stop.

Used as ``for attempt in Retrying(...): with attempt: return send()`` then a sleep of ``attempt.delay``
(``time.sleep`` or ``asyncio.sleep``): the iteration, the decision and the log line live here once.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from airflow_provider_vidjobs.exceptions import RateLimitedError, TransientAPIError, VideoAPIError
from airflow_provider_vidjobs.http import responses

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_vidjobs.retry import RetryPolicy


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...


class Retrying:
    """The attempts of one request under a :class:`RetryPolicy`; each is also the context that judges it.

    A non-idempotent request (creating a job) is retried only when the server cannot have acted on
    it: a 429, or a connection that was never made. A 5xx or timeout might have created a job
    already, and a second one would be paid for twice.
    """

    __slots__ = ("attempt", "base_url", "delay", "idempotent", "job_id", "log", "policy", "provider")

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        provider: str,
        job_id: str | None,
        base_url: str,
        log: _Log,
        idempotent: bool = True,
    ) -> None:
        self.policy, self.provider, self.job_id, self.base_url = policy, provider, job_id, base_url
        self.log, self.idempotent = log, idempotent
        self.attempt, self.delay = 0, 0.0

    def __iter__(self) -> Iterator[Retrying]:
        for attempt in range(1, self.policy.max_attempts + 1):
            self.attempt = attempt
            yield self

    def __enter__(self) -> Retrying:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> bool:
        """Swallow a failure worth another try (setting :attr:`delay`); raise what ends the request."""
        if isinstance(error, httpx.HTTPError):
            failure: VideoAPIError = responses.error_for_transport(
                error, provider=self.provider, job_id=self.job_id, base_url=self.base_url
            )
            if not isinstance(failure, TransientAPIError):
                raise failure from None  # an untrusted certificate: another try fails the same way
            if not self.idempotent and not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
                raise failure from None
        elif isinstance(error, TransientAPIError):
            if not self.idempotent and not isinstance(error, RateLimitedError):
                return False
            failure = error
        else:
            return False  # success (None) or an error no retry can help
        if self.attempt == self.policy.max_attempts:
            if failure is error:
                return False
            raise failure from None
        hint = failure.retry_after if isinstance(failure, TransientAPIError) else None
        self.log.info("%s; retrying (attempt %d of %d)", failure.summary, self.attempt + 1, self.policy.max_attempts)
        self.delay = self.policy.delay(self.attempt, hint)
        return True
