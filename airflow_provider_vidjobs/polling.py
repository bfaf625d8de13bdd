"""When to ask about a job next, and the loop that asks: the polling every wait follows.

:class:`PollPolicy` is what a task configures (every wait, trigger or sensor, follows it);
:class:`PollPlanner` is one wait's schedule under it; :func:`poll_until_done` is the deferred wait's
loop (run by the trigger), which ends with a :class:`WaitEnd`. One poll's path: this loop -> the
API's hook (:mod:`.hooks.base`, the vendor module) -> :mod:`.http` (clients, transport, connection,
responses) -> :class:`~.models.VideoJob`.

The goal is to notice a finished job soon after it finishes while asking as rarely as possible.
While a job reports rising progress we estimate its time to completion from the progress rate and
sleep a fraction of that; with no progress to go on (queued, or a vendor that sends none) the
interval grows geometrically. Both are bounded by ``min_interval`` and ``max_interval``, a server's
hint (``openai-poll-after-ms``, ``Retry-After``) is never undercut, and every delay is jittered
(shortened by up to ``jitter``) so thousands of waits started together do not poll in lockstep.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from airflow_provider_vidjobs.exceptions import TransientAPIError, UnreadableResponseError
from airflow_provider_vidjobs.models import JobStatus, VideoJob

Outcome = Literal["succeeded", "failed", "cancelled", "timeout", "error"]
OUTCOMES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "timeout", "error"})
_OUTCOME_OF: dict[JobStatus, Outcome] = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "cancelled",
}


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
    eta_fraction: float = 0.6
    #: Without a progress rate, each interval is this many times the last one.
    growth: float = 1.5
    #: Random spread on every delay: each is up to this fraction shorter (never longer).
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


#: One generator for every planner's jitter: a ``random.Random`` holds 2.5 KB of state, and a
#: triggerer runs thousands of planners (jitter needs spread, not independent streams).
_SHARED_RNG = random.Random()  # noqa: S311 - jitter, not cryptography

# Heuristics of the progress-rate estimate and the final approach, tuned with
# ``benchmarks/policy_model.py`` and measured with ``benchmarks/api_calls.py`` (see the README there).
# Module constants, not PollPolicy fields: a trigger's serialized policy must stay readable by a
# triggerer running an older version of this package.

#: Each new progress sample multiplies the weight of all earlier ones by this (an effective window of
#: about ten samples): enough to average out the noise vendors' progress has, short enough to follow
#: a job that speeds up or slows down.
FORGET = 0.9
#: A drop in progress of more than this many points is a restart, not noise: the estimate starts over.
RESTART_DROP = 10.0
#: An aimed poll lands this fraction of ``min_interval`` after the predicted end...
AIM_MARGIN = 0.1
#: ...never sooner than this fraction of ``min_interval`` after the last poll...
AIM_FLOOR = 0.2
#: ...and at most this many times in a row below ``min_interval`` (a job stuck at 99% falls back to it).
MAX_AIMS = 3


@dataclass
class PollPlanner:
    """One wait's polling state: the progress-rate estimate, the current interval, failure streaks.

    The rate comes from a least-squares line through the progress samples (older ones weighted down by
    :data:`FORGET`), so one noisy reading cannot swing the estimate, and the time left is measured
    from where that line is now, not from the last noisy reading. Far from the end the planner sleeps
    ``eta_fraction`` of the time left; once the end is less than one more such step away it aims at
    the predicted end (plus a small margin), below ``min_interval`` if that is all the job has left.
    """

    policy: PollPolicy
    _interval: float = 0.0
    #: Weighted sums of the fit: (weight, x, progress, x*x, x*progress), x = seconds since ``_origin``.
    _sums: tuple[float, float, float, float, float] | None = None
    _origin: float = 0.0
    _samples: int = 0
    _last: tuple[float, float] | None = None  # (time, progress) of the latest sample
    _aims: int = 0
    failures: int = 0
    failing_since: float | None = None
    _rng: random.Random = field(default=_SHARED_RNG, repr=False)

    def __post_init__(self) -> None:
        self._interval = self.policy.min_interval

    def observe(self, job: VideoJob, now: float) -> None:
        """Record a successful poll: ends any failure streak and feeds the progress-rate estimate."""
        self.failures = 0
        self.failing_since = None
        progress = job.progress
        if job.status is not JobStatus.RUNNING or progress is None:
            return
        if self._sums is None or (self._last is not None and progress < self._last[1] - RESTART_DROP):
            self._sums, self._origin, self._samples = (0.0, 0.0, 0.0, 0.0, 0.0), now, 0  # first, or restarted
        w, sx, sp, sxx, sxp = self._sums
        x = now - self._origin
        k = FORGET
        self._sums = (w * k + 1.0, sx * k + x, sp * k + progress, sxx * k + x * x, sxp * k + x * progress)
        self._samples += 1
        self._last = (now, progress)

    def eta(self) -> float | None:
        """Estimated seconds from the latest sample until the job reaches 100% (None: no rate yet)."""
        if self._sums is None or self._samples < 2 or self._last is None:
            return None
        w, sx, sp, sxx, sxp = self._sums
        spread = w * sxx - sx * sx
        if spread <= 1e-9 * max(1.0, w * sxx):
            return None
        rate = (w * sxp - sx * sp) / spread
        if rate <= 0:
            return None
        now = self._last[0] - self._origin
        progress_now = (sp - rate * sx) / w + rate * now
        return max(0.0, (100.0 - progress_now) / rate)

    def next_delay(self, server_hint: float | None = None) -> float:
        """Seconds to sleep before the next poll after a successful one."""
        policy = self.policy
        low = policy.min_interval
        aimed = False
        eta = self.eta() if policy.adaptive else None
        if not policy.adaptive:
            delay = low
        elif eta is None:
            delay = self._interval
            self._interval = min(policy.max_interval, self._interval * policy.growth)
        else:
            self._interval = low
            if eta * (1 - policy.eta_fraction) >= low:
                delay = eta * policy.eta_fraction  # far from the end: close in
            elif eta >= low:
                delay = eta + AIM_MARGIN * low  # the end is one step away: aim just past it
            elif self._aims < MAX_AIMS:
                delay = max(AIM_FLOOR * low, eta + AIM_MARGIN * low)  # less than min_interval left
                aimed = True
            else:
                delay = low  # predicted done, still running: back to the plain cadence
        self._aims = self._aims + 1 if aimed else 0
        if not aimed:
            delay = self._jittered(min(policy.max_interval, max(low, delay)))
        if server_hint is not None:
            delay = max(delay, min(server_hint, policy.max_interval))
        return delay

    def first_delay(self, delay: float) -> float:
        """The wait before the first poll, jittered like every other: waits deferred (or resumed after a
        triggerer restart) together do not all poll at the same instant."""
        return self._jittered(delay) if delay > 0 else 0.0

    def failure(self, now: float, retry_after: float | None = None) -> float | None:
        """Record a transient failure; the delay before retrying, or None when the budget is spent."""
        if self.failing_since is None:
            self.failing_since = now
        self.failures += 1
        if now - self.failing_since >= self.policy.failure_budget:
            return None
        backoff = min(self.policy.max_interval, self.policy.min_interval * 2 ** (self.failures - 1))
        delay = self._jittered(backoff)
        if retry_after is not None:
            delay = max(delay, retry_after, self.policy.min_interval)
        delay = min(delay, self.policy.max_interval)
        remaining = self.policy.failure_budget - (now - self.failing_since)
        return min(delay, max(remaining, 0.0))

    def _jittered(self, delay: float) -> float:
        """Up to ``jitter`` shorter, never longer: ``max_interval`` stays a true bound."""
        spread = self.policy.jitter
        return delay * self._rng.uniform(1 - spread, 1) if spread else delay


# --- The deferred wait's loop ---------------------------------------------------------------------------

#: Seconds at least between two progress lines of one wait while its status stays the same.
PROGRESS_LOG_INTERVAL_S = 30.0

#: Seconds: wake-ups are rounded up to this grid, so waits due at nearly the same moment share one turn
#: of the event loop (one ``epoll`` wake-up for many polls, and their answers arriving together).
WAKE_GRID_S = 0.02


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...
    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


class _Poller(Protocol):
    async def apoll_job(self, job_id: str) -> Any: ...  # a hooks.base.JobPoll


@dataclass(frozen=True)
class WaitEnd:
    """How a wait ended: its outcome, the line for the log and the event, the job as last seen."""

    outcome: Outcome
    message: str
    job: VideoJob | None = None
    error_type: str | None = None


async def poll_until_done(
    hook: _Poller,
    job_id: str,
    policy: PollPolicy,
    *,
    provider: str,
    log: _Log,
    deadline: float | None = None,
    first_poll_delay: float = 0.0,
) -> WaitEnd:
    """Poll ``job_id`` through ``hook`` until it ends, ``deadline`` (Unix time) passes or transient failures
    outlast ``policy.failure_budget``. Permanent errors (a bad key, an unknown job) are raised."""
    planner = PollPlanner(policy)
    last_logged: tuple[JobStatus, int] | None = None
    logged_at = 0.0
    job: VideoJob | None = None
    delay = planner.first_delay(first_poll_delay)
    while True:
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - time.time()))
        if delay > 0:
            await _sleep_on_grid(delay)
        try:
            poll = await hook.apoll_job(job_id)
        except (TransientAPIError, UnreadableResponseError) as error:
            # An unreadable 200 (cut short, a proxy's HTML page) is a blip too: a long wait sits it out.
            now = time.time()
            if planner.failures == 0:
                log.warning(
                    "%s; will keep trying for up to %.0f s of consecutive failures", error, policy.failure_budget
                )
            retry_in = planner.failure(now, error.retry_after if isinstance(error, TransientAPIError) else None)
            if deadline is not None and now >= deadline:
                return _timed_out(provider, job_id, job, log)
            if retry_in is None:
                message = (
                    f"{provider} job {job_id}: gave up after {planner.failures} failed polls over "
                    f"{policy.failure_budget:.0f} s; last error: {error}"
                )
                return WaitEnd("error", message, job, type(error).__name__)
            delay = retry_in
            continue
        if planner.failures:
            log.info("%s job %s: API answering again after %d failed polls", provider, job_id, planner.failures)
        job = poll.job
        now = time.time()
        planner.observe(job, now)
        seen = (job.status, _progress_step(job))
        if seen != last_logged and (
            last_logged is None or seen[0] != last_logged[0] or now - logged_at >= PROGRESS_LOG_INTERVAL_S
        ):
            last_logged, logged_at = seen, now
            log.info("%s", describe_progress(job, planner.eta()))
        if job.is_terminal:
            return WaitEnd(_OUTCOME_OF[job.status], job.summary(), job)
        if deadline is not None and time.time() >= deadline:
            return _timed_out(provider, job_id, job, log)
        delay = planner.next_delay(poll.poll_after)


def _timed_out(provider: str, job_id: str, job: VideoJob | None, log: _Log) -> WaitEnd:
    state = f"; last seen {job.status.value}" if job is not None else ""
    message = f"{provider} job {job_id}: not finished by the task's deadline{state}"
    log.info("%s", message)
    return WaitEnd("timeout", message, job)


async def _sleep_on_grid(delay: float) -> None:
    """``asyncio.sleep(delay)``, ending on the next :data:`WAKE_GRID_S` boundary (at most that much later)."""
    loop = asyncio.get_running_loop()
    due = math.ceil((loop.time() + delay) / WAKE_GRID_S) * WAKE_GRID_S
    await asyncio.sleep(due - loop.time())


def _progress_step(job: VideoJob) -> int:
    """Which tenth of the way the job is (-1: no progress): a progress line is logged when this changes.

    A line per status change, and per 10% step at most every :data:`PROGRESS_LOG_INTERVAL_S`, keeps a
    triggerer with thousands of waits from rendering (and shipping) a line on most polls, while the task
    log still shows the job moving.
    """
    return -1 if job.progress is None else int(job.progress // 10)


def describe_progress(job: VideoJob, eta: float | None) -> str:
    """``job <id>: running 45%, about 30 s left``: the line users see in the task log."""
    text = f"{job.provider} job {job.job_id}: {job.status.value}"
    if job.progress is not None:
        text += f" {job.progress:.0f}%"
    if job.vendor_status and job.vendor_status.lower() != job.status.value:
        text += f" (API status {job.vendor_status!r})"
    if eta is not None and not job.is_terminal:
        text += f", about {eta:.0f} s left"
    return text
