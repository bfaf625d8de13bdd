"""When to ask about a job next: the polling policy every wait (trigger or sensor) follows.

The goal is to notice a finished job soon after it finishes while asking as rarely as possible.
While a job reports rising progress we estimate its time to completion from the progress rate and
sleep a fraction of that; with no progress to go on (queued, or a vendor that sends none) the
interval grows geometrically. Both are bounded by ``min_interval`` and ``max_interval``, a server's
hint (``openai-poll-after-ms``, ``Retry-After``) is never undercut, and every delay is jittered so
thousands of waits started together do not poll in lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_provider_vidjobs.models import JobStatus, VideoJob


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll one job. JSON-native, so a trigger can carry it."""

    #: Never poll sooner than this (seconds), unless ``min_interval`` is all a job has left.
    min_interval: float = 5.0
    #: Never wait longer than this between polls (seconds).
    max_interval: float = 60.0
    #: Use the progress rate to sleep towards the estimated completion; off = fixed ``min_interval``.
    adaptive: bool = True
    #: Sleep this fraction of the estimated time left (smaller = lower lag, more calls).
    eta_fraction: float = 0.5
    #: Without a progress rate, each interval is this many times the last one.
    growth: float = 1.5
    #: +/- this fraction of random spread on every delay.
    jitter: float = 0.1
    #: Seconds of consecutive transient failures (429, 5xx, timeouts) a wait sits out before it gives up.
    failure_budget: float = 600.0

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.max_interval:
            raise ValueError(
                f"Poll intervals must satisfy 0 < min_interval <= max_interval; got min_interval="
                f"{self.min_interval}, max_interval={self.max_interval}"
            )
        if not 0 < self.eta_fraction <= 1 or self.growth < 1 or not 0 <= self.jitter < 1:
            raise ValueError("PollPolicy needs 0 < eta_fraction <= 1, growth >= 1 and 0 <= jitter < 1")
        if self.failure_budget < 0:
            raise ValueError("PollPolicy.failure_budget must not be negative")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PollPolicy:
        return cls(**dict(data or {}))


@dataclass
class PollPlanner:
    """One wait's polling state: progress samples, the current interval, failure streaks."""

    policy: PollPolicy
    _interval: float = 0.0
    _first: tuple[float, float] | None = None  # (time, progress) when progress first moved
    _last: tuple[float, float] | None = None
    failures: int = 0
    failing_since: float | None = None
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._interval = self.policy.min_interval

    def observe(self, job: VideoJob, now: float) -> None:
        """Record a successful poll: ends any failure streak and feeds the progress-rate estimate."""
        self.failures = 0
        self.failing_since = None
        if job.status is not JobStatus.RUNNING or job.progress is None:
            return
        sample = (now, job.progress)
        if self._first is None or job.progress < self._first[1]:
            self._first = sample  # first sample, or progress went backwards: start the estimate again
        self._last = sample

    def eta(self) -> float | None:
        """Estimated seconds until the job reaches 100%, from the average progress rate so far."""
        if self._first is None or self._last is None:
            return None
        (t0, p0), (t1, p1) = self._first, self._last
        if t1 <= t0 or p1 <= p0:
            return None
        rate = (p1 - p0) / (t1 - t0)
        return max(0.0, (100.0 - p1) / rate)

    def next_delay(self, server_hint: float | None = None) -> float:
        """Seconds to sleep before the next poll after a successful one."""
        policy = self.policy
        eta = self.eta() if policy.adaptive else None
        if not policy.adaptive:
            delay = policy.min_interval
        elif eta is not None:
            delay = eta * policy.eta_fraction
            self._interval = policy.min_interval
        else:
            delay = self._interval
            self._interval = min(policy.max_interval, self._interval * policy.growth)
        delay = min(policy.max_interval, max(policy.min_interval, delay))
        if server_hint is not None:
            delay = max(delay, min(server_hint, policy.max_interval))
        return self._jittered(delay)

    def failure(self, now: float, retry_after: float | None = None) -> float | None:
        """Record a transient failure; the delay before retrying, or None when the budget is spent."""
        if self.failing_since is None:
            self.failing_since = now
        self.failures += 1
        if now - self.failing_since >= self.policy.failure_budget:
            return None
        backoff = min(self.policy.max_interval, self.policy.min_interval * 2 ** (self.failures - 1))
        delay = backoff if retry_after is None else max(retry_after, self.policy.min_interval)
        delay = min(delay, self.policy.max_interval)
        remaining = self.policy.failure_budget - (now - self.failing_since)
        return self._jittered(min(delay, max(remaining, 0.0)))

    def _jittered(self, delay: float) -> float:
        spread = self.policy.jitter
        return delay * self._rng.uniform(1 - spread, 1 + spread) if spread else delay
