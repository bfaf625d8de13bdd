"""The deferred wait's loop (``poll_until_done``) on a simulated clock: how each wait ends and what it says.

The hook is a script of answers, ``time.time`` and the sleep are a fake clock, so a wait of hours runs in
milliseconds. The trigger tests (tests/triggers) run the same loop for real against the simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_vidjobs import polling
from airflow_provider_vidjobs.exceptions import TransientAPIError, UnreadableResponseError
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.polling import PollPolicy, WaitEnd, describe_progress, poll_until_done

START = 1_767_225_600.0
POLICY = PollPolicy(min_interval=5.0, max_interval=60.0, jitter=0.0, failure_budget=120.0)


class Clock:
    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(polling.time, "time", fake.time)
    monkeypatch.setattr(polling, "_sleep_on_grid", fake.sleep)
    return fake


@dataclass
class Poll:
    job: VideoJob
    poll_after: float | None = None


@dataclass
class ScriptedHook:
    """Answers each poll with the next item: a job, a ``Poll``, or an exception to raise."""

    answers: Iterator[Any]
    calls: int = 0

    async def apoll_job(self, job_id: str) -> Poll:
        self.calls += 1
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        return answer if isinstance(answer, Poll) else Poll(answer)


@dataclass
class Log:
    infos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def info(self, event: Any, *args: Any, **kw: Any) -> None:
        self.infos.append(event % args if args else event)

    def warning(self, event: Any, *args: Any, **kw: Any) -> None:
        self.warnings.append(event % args if args else event)


def job(status: JobStatus, progress: float | None = None, vendor: str | None = None) -> VideoJob:
    return VideoJob(provider="tensorpix", job_id="j1", status=status, progress=progress, vendor_status=vendor)


def forever(*answers: Any) -> Iterator[Any]:
    """The answers, then the last one again and again."""
    yield from answers
    while True:
        yield answers[-1]


def wait(hook: ScriptedHook, log: Log, **kwargs: Any) -> WaitEnd:
    kwargs.setdefault("policy", POLICY)
    return asyncio.run(poll_until_done(hook, "j1", provider="tensorpix", log=log, **kwargs))


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(JobStatus.SUCCEEDED, "succeeded"), (JobStatus.FAILED, "failed"), (JobStatus.CANCELLED, "cancelled")],
)
def test_a_job_that_ends_ends_the_wait_with_its_outcome(clock: Clock, status: JobStatus, outcome: str) -> None:
    done = job(status, 100.0)
    hook = ScriptedHook(iter([job(JobStatus.QUEUED), job(JobStatus.RUNNING, 50.0), done]))
    end = wait(hook, Log())
    assert end == WaitEnd(outcome, done.summary(), done)
    assert hook.calls == 3
    assert clock.sleeps[0] == POLICY.min_interval  # no rate yet: the plain cadence


def test_the_first_poll_waits_first_poll_delay_and_not_otherwise(clock: Clock) -> None:
    wait(ScriptedHook(iter([job(JobStatus.SUCCEEDED)])), Log())
    assert clock.sleeps == []
    wait(ScriptedHook(iter([job(JobStatus.SUCCEEDED)])), Log(), first_poll_delay=30.0)
    assert clock.sleeps == [30.0]


def test_the_deadline_ends_a_running_wait_and_says_what_the_job_was_doing(clock: Clock) -> None:
    log = Log()
    running = job(JobStatus.RUNNING, 10.0)
    end = wait(ScriptedHook(forever(running)), log, deadline=START + 100.0)
    assert end.outcome == "timeout"
    assert end.message == "tensorpix job j1: not finished by the task's deadline; last seen running"
    assert end.job == running
    assert end.message in log.infos
    assert clock.now <= START + 100.0 + 1e-6  # no sleep past the deadline
    assert clock.now == pytest.approx(START + 100.0)


def test_the_deadline_ends_a_wait_whose_polls_all_fail(clock: Clock) -> None:
    log = Log()
    policy = PollPolicy(min_interval=5.0, max_interval=60.0, jitter=0.0, failure_budget=10_000.0)
    end = wait(ScriptedHook(forever(TransientAPIError("503"))), log, policy=policy, deadline=START + 100.0)
    assert end.outcome == "timeout"
    assert end.message == "tensorpix job j1: not finished by the task's deadline"
    assert end.job is None
    assert clock.now == pytest.approx(START + 100.0)


def test_failures_past_the_budget_end_the_wait_with_an_error_that_says_so(clock: Clock) -> None:
    log = Log()
    running = job(JobStatus.RUNNING, 10.0)
    hook = ScriptedHook(forever(running, TransientAPIError("upstream said 503")))
    end = wait(hook, log)
    assert end.outcome == "error"
    assert end.error_type == "TransientAPIError"
    assert end.job == running
    assert end.message.startswith(f"tensorpix job j1: gave up after {hook.calls - 1} failed polls over 120 s")
    assert end.message.endswith("last error: upstream said 503")
    assert clock.now - START <= 5.0 + 120.0 + 1e-6  # the budget, not a sleep more
    assert len(log.warnings) == 1  # the streak is reported once, when it starts
    assert "120 s" in log.warnings[0]


def test_an_unreadable_answer_is_sat_out_like_a_5xx_and_recovery_is_logged(clock: Clock) -> None:
    log = Log()
    done = job(JobStatus.SUCCEEDED, 100.0)
    hook = ScriptedHook(iter([UnreadableResponseError("cut short"), TransientAPIError("503"), done]))
    end = wait(hook, log)
    assert end.outcome == "succeeded"
    assert clock.sleeps == [5.0, 10.0]  # backoff doubles
    assert "tensorpix job j1: API answering again after 2 failed polls" in log.infos
    assert len(log.warnings) == 1


def test_a_429s_retry_after_is_honoured(clock: Clock) -> None:
    hook = ScriptedHook(iter([TransientAPIError("429", retry_after=42.0), job(JobStatus.SUCCEEDED)]))
    wait(hook, Log())
    assert clock.sleeps == [42.0]


def test_the_servers_poll_after_hint_is_followed(clock: Clock) -> None:
    hook = ScriptedHook(iter([Poll(job(JobStatus.QUEUED), poll_after=25.0), job(JobStatus.SUCCEEDED)]))
    wait(hook, Log())
    assert clock.sleeps == [25.0]


def test_progress_is_logged_per_status_and_per_tenth_not_per_poll(clock: Clock) -> None:
    log = Log()
    answers = [job(JobStatus.QUEUED)] * 3 + [job(JobStatus.RUNNING, p) for p in (1, 2, 3, 12, 13, 55)]
    wait(ScriptedHook(iter([*answers, job(JobStatus.SUCCEEDED, 100.0)])), log)
    lines = [line.split(": ", 1)[1].split(",")[0] for line in log.infos]
    assert lines[0] == "queued"
    assert lines[1] == "running 1%"
    assert lines[-1] == "succeeded 100%"
    assert len(lines) <= 6  # 3 queued + 6 running polls: far fewer lines


def test_the_progress_line_shows_the_vendors_word_and_the_time_left() -> None:
    line = describe_progress(job(JobStatus.RUNNING, 45.0, vendor="processing"), eta=30.4)
    assert line == "tensorpix job j1: running 45% (API status 'processing'), about 30 s left"
    assert describe_progress(job(JobStatus.RUNNING, None, vendor="RUNNING"), eta=None) == "tensorpix job j1: running"
    done = describe_progress(job(JobStatus.SUCCEEDED, 100.0), eta=5.0)
    assert done == "tensorpix job j1: succeeded 100%"  # no time left on a finished job


def test_a_wait_with_a_long_steady_status_logs_a_tenth_at_most_every_30_s(clock: Clock) -> None:
    """Ten polls 10 s apart inside one 10% step log once; the next step logs again only 30 s after the last."""
    log = Log()
    policy = PollPolicy(min_interval=10.0, max_interval=10.0, jitter=0.0, adaptive=False)
    steps = [job(JobStatus.RUNNING, p) for p in (10, 11, 12, 20, 21, 30, 31, 32, 33, 40)]
    wait(ScriptedHook(iter([*steps, job(JobStatus.SUCCEEDED, 100.0)])), log, policy=policy)
    shown = [line.split(": ", 1)[1].split(",")[0] for line in log.infos]
    # t=0 10%; t=30 20% (30 s after); t=50 30% is only 20 s after that; t=60 31%: 30 s after; t=90 40%.
    assert shown == ["running 10%", "running 20%", "running 31%", "running 40%", "succeeded 100%"]


def test_a_job_without_progress_logs_its_status_changes_only(clock: Clock) -> None:
    log = Log()
    answers = [job(JobStatus.QUEUED)] * 4 + [job(JobStatus.RUNNING)] * 4 + [job(JobStatus.SUCCEEDED)]
    wait(ScriptedHook(iter(answers)), log, policy=PollPolicy(min_interval=40.0, max_interval=40.0, jitter=0.0))
    assert [line.split(": ", 1)[1] for line in log.infos] == ["queued", "running", "succeeded"]


def test_the_progress_line_carries_the_estimate(clock: Clock) -> None:
    log = Log()
    answers = [job(JobStatus.RUNNING, float(p)) for p in (0, 5, 10, 15)] + [job(JobStatus.SUCCEEDED, 100.0)]
    wait(ScriptedHook(iter(answers)), log, policy=PollPolicy(min_interval=30.0, max_interval=30.0, jitter=0.0))
    assert "tensorpix job j1: running 10%, about 540 s left" in log.infos


def test_a_poll_asks_for_the_waited_job(clock: Clock) -> None:
    asked: list[str] = []

    class Hook:
        async def apoll_job(self, job_id: str) -> Poll:
            asked.append(job_id)
            return Poll(job(JobStatus.SUCCEEDED))

    wait(Hook(), Log())  # type: ignore[arg-type]
    assert asked == ["j1"]


def test_sleeping_ends_on_the_wake_grid_never_early(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(polling.asyncio, "sleep", record)
        start = loop.time()
        await polling._sleep_on_grid(1.234)
        return start

    start = asyncio.run(main())
    assert len(asked) == 1
    assert 1.234 - 0.01 <= asked[0] <= 1.234 + polling.WAKE_GRID_S + 0.01
    assert start >= 0
