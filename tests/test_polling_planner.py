"""The adaptive poll planner where it saves calls and lag: the ETA, the delays it leads to, failure backoff.

Every wait here runs on a simulated clock (the planner is handed ``now``; no test sleeps). A job's true
end is known to the test, so the assertions are about outcomes a user notices: how soon after the end
the finished job is seen, how many polls that took, how close the estimate is to the truth.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.polling import PollPlanner, PollPolicy

MIN, MAX = 5.0, 60.0


def planner(seed: int = 7, **policy: float) -> PollPlanner:
    policy.setdefault("jitter", 0.0)
    return PollPlanner(PollPolicy(**policy), _rng=random.Random(seed))  # type: ignore[arg-type]


def running(progress: float) -> VideoJob:
    return VideoJob(provider="tensorpix", job_id="j", status=JobStatus.RUNNING, progress=progress)


def queued() -> VideoJob:
    return VideoJob(provider="tensorpix", job_id="j", status=JobStatus.QUEUED)


def wait(duration: float, queued_s: float = 0.0, **policy: float) -> tuple[int, float]:
    """Polls until a job (queued, then 0 -> 100% at a steady rate, reported in whole percent) is seen done.

    Returns the number of polls and the lag: seconds between the job's end and the poll that saw it.
    """
    p = planner(**policy)
    end = queued_s + duration
    t, polls = 0.0, 0
    while True:
        polls += 1
        if t >= end:
            return polls, t - end
        p.observe(queued() if t < queued_s else running(math.floor(100 * (t - queued_s) / duration)), t)
        t += p.next_delay()


# ----- the estimate -----------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [60.0, 120.0, 300.0, 900.0, 3600.0])
@pytest.mark.parametrize("queued_s", [0.0, 30.0])
def test_a_steady_job_is_seen_done_soon_after_it_ends_with_few_polls(duration: float, queued_s: float) -> None:
    polls, lag = wait(duration, queued_s, min_interval=MIN, max_interval=MAX)

    assert 0 <= lag <= 1.5 * MIN  # without the estimate the last sleep could be max_interval long
    assert polls <= (queued_s + duration) / MIN / 2 + 3  # far fewer than polling every min_interval


def test_the_eta_is_close_to_the_true_time_left() -> None:
    """0.5%/s reported in whole percent every 5 s: after a few samples the estimate is within 5% of the truth."""
    p = planner()
    for step in range(2, 12):
        t = 5.0 * step
        p.observe(running(math.floor(0.5 * t)), t)
        true_left = 200.0 - t
        eta = p.eta()
        if step >= 4:
            assert eta is not None
            assert abs(eta - true_left) <= 0.05 * true_left, (t, eta, true_left)


def test_the_eta_sees_through_noisy_progress() -> None:
    """A vendor's progress jumps around the true line by a few points: one reading does not swing the ETA."""
    p = planner()
    noise = [3, -2, 4, -4, 1, -3, 2, 4, -1, -3, 3, -2]
    for step, wobble in enumerate(noise, start=1):
        t = 10.0 * step
        p.observe(running(0.4 * t + wobble), t)
    true_left = 250.0 - 120.0
    eta = p.eta()
    assert eta is not None
    assert abs(eta - true_left) <= 0.15 * true_left


def test_the_eta_follows_a_job_that_speeds_up() -> None:
    """Old samples fade: after a speed-up the estimate moves to the new rate, not the whole history's average."""
    p = planner()
    t = 0.0
    progress = 0.0
    for _ in range(20):  # 100 s at 0.2%/s
        p.observe(running(progress), t)
        t, progress = t + 5, progress + 1.0
    for _ in range(60):  # then 60 s at 1%/s, read every second
        p.observe(running(progress), t)
        t, progress = t + 1, progress + 1.0
    last_progress = progress - 1.0
    true_left = 100.0 - last_progress  # at 1%/s
    eta = p.eta()
    assert eta is not None
    assert abs(eta - true_left) <= 0.25 * true_left, (eta, true_left)


def test_one_sample_or_no_progress_gives_no_eta() -> None:
    p = planner()
    assert p.eta() is None
    p.observe(running(10), 0.0)
    assert p.eta() is None  # one point is no rate
    p.observe(running(10), 5.0)
    assert p.eta() is None  # a flat line never ends
    p.observe(running(8), 10.0)
    assert p.eta() is None  # nor does a falling one

    silent = planner()
    for t in range(0, 50, 5):
        silent.observe(VideoJob(provider="tensorpix", job_id="j", status=JobStatus.RUNNING), float(t))
        silent.observe(queued(), float(t) + 1)
    assert silent.eta() is None  # no progress, or not running: nothing to estimate from


def test_a_job_that_starts_over_is_estimated_from_its_new_run_only() -> None:
    p = planner()
    for t in range(0, 60, 5):  # 1%/s up to 55%
        p.observe(running(float(t)), float(t))
    p.observe(running(2.0), 60.0)  # restarted by the vendor
    assert p.eta() is None  # one sample of the new run
    p.observe(running(4.0), 70.0)  # the new run goes at 0.2%/s
    eta = p.eta()
    assert eta is not None
    assert eta == pytest.approx(96.0 / 0.2, rel=0.01)


def test_a_small_dip_in_progress_is_noise_not_a_restart() -> None:
    p = planner()
    for t in range(0, 50, 5):
        p.observe(running(float(t)), float(t))
    p.observe(running(40.0), 50.0)  # 5 points below the previous reading
    assert p.eta() is not None


def test_the_last_sample_counts_not_a_stale_one() -> None:
    """The time left is counted from the newest sample: a later reading of the same line gives a smaller ETA."""
    p = planner()
    for t in range(0, 30, 5):
        p.observe(running(float(t)), float(t))
    earlier = p.eta()
    p.observe(running(30.0), 30.0)
    later = p.eta()
    assert earlier is not None
    assert later is not None
    assert later == pytest.approx(70.0, rel=0.01)
    assert later < earlier


# ----- delays -----------------------------------------------------------------------------------------


def test_far_from_the_end_it_sleeps_part_of_the_time_left_within_the_bounds() -> None:
    p = planner(min_interval=MIN, max_interval=600.0)
    for t in range(0, 30, 5):
        p.observe(running(t / 10), float(t))  # 0.1%/s: 970 s left
    eta = p.eta()
    assert eta is not None
    delay = p.next_delay()
    assert MIN <= delay < eta  # closes in without overshooting the end
    assert delay >= eta / 3  # and does not waste calls either


def test_an_estimate_never_pushes_a_delay_past_max_interval_or_under_min_interval() -> None:
    slow = planner(min_interval=MIN, max_interval=MAX)
    for t in range(0, 30, 5):
        slow.observe(running(t / 100), float(t))  # hours left
    assert slow.next_delay() == MAX

    cautious = planner(min_interval=MIN, max_interval=MAX, eta_fraction=0.2)
    for t in range(0, 30, 5):
        cautious.observe(running(70.0 + t), float(t))  # ~7 s left: a fifth of it is under min_interval
    assert cautious.next_delay() >= MIN


def test_when_the_end_is_one_step_away_the_poll_lands_just_after_it() -> None:
    p = planner(min_interval=MIN, max_interval=MAX)
    for t in range(0, 30, 5):
        p.observe(running(83.5 + t / 2), float(t))  # 0.5%/s at 96%: 8 s left
    eta = p.eta()
    assert eta is not None
    delay = p.next_delay()
    assert eta <= delay <= eta + MIN


def test_less_than_min_interval_left_polls_sooner_but_a_stuck_job_falls_back_to_the_cadence() -> None:
    p = planner(min_interval=MIN, max_interval=MAX)
    t = 0.0
    for progress in (90.0, 94.0, 98.0):  # 0.8%/s: 2.5 s left
        p.observe(running(progress), t)
        t += 5
    first = p.next_delay()
    assert 0 < first < MIN
    assert first >= p.eta()  # type: ignore[operator]  # not before the predicted end

    delays = [first]
    for _ in range(10):  # the job sits at 99% (still running, the estimate keeps saying "any moment")
        t += delays[-1]
        p.observe(running(99.0), t)
        delays.append(p.next_delay())
    runs = "".join("s" if d < MIN else "-" for d in delays).split("-")
    assert max(len(run) for run in runs) <= 3  # a few quick looks at a time, then one full interval
    assert sum(d >= MIN for d in delays) >= 2


def test_without_progress_the_interval_grows_to_max_interval() -> None:
    p = planner(min_interval=MIN, max_interval=MAX, growth=2.0)
    delays = []
    for t in range(12):
        p.observe(queued(), float(t))
        delays.append(p.next_delay())
    assert delays[:5] == [5.0, 10.0, 20.0, 40.0, 60.0]
    assert set(delays[4:]) == {MAX}


def test_progress_resets_the_interval_to_the_estimate() -> None:
    """A long queue grew the interval; once progress gives a rate, the estimate (not the long interval) rules."""
    p = planner(min_interval=MIN, max_interval=MAX)
    for t in range(0, 300, 30):
        p.observe(queued(), float(t))
        p.next_delay()
    for t in (300.0, 305.0, 310.0):
        p.observe(running(85.0 + (t - 300.0)), t)  # 1%/s at 95%: 5 s left
    assert p.next_delay() <= 2 * MIN


def test_a_fixed_policy_polls_every_min_interval_whatever_the_progress() -> None:
    p = planner(min_interval=MIN, max_interval=MAX, adaptive=False)
    delays = []
    for t in range(0, 100, 5):
        p.observe(running(float(t)), float(t))
        delays.append(p.next_delay())
    for t in range(100, 200, 5):
        p.observe(queued(), float(t))
        delays.append(p.next_delay())
    assert set(delays) == {MIN}


@pytest.mark.parametrize("progress", [None, 1.0, 92.0])  # no estimate / far from the end / one step away
def test_later_delays_are_jittered_shorter_never_longer(progress: float | None) -> None:
    delays = []
    for seed in range(200):
        p = planner(seed=seed, min_interval=MIN, max_interval=MAX, jitter=0.2)
        plain = planner(seed=seed, min_interval=MIN, max_interval=MAX, jitter=0.0)
        for t in range(0, 20, 5):
            job = queued() if progress is None else running(progress + t / 5)
            p.observe(job, float(t))
            plain.observe(job, float(t))
            p.next_delay()
            plain.next_delay()
        delay, expected = p.next_delay(), plain.next_delay()
        assert 0.8 * expected <= delay <= expected, (seed, delay, expected)
        delays.append(delay / expected)
    assert max(delays) - min(delays) > 0.1  # spread over the jitter: waits started together drift apart


def test_a_server_hint_is_never_undercut_and_never_beyond_max_interval() -> None:
    p = planner(min_interval=MIN, max_interval=MAX)
    p.observe(queued(), 0.0)
    assert p.next_delay(server_hint=30.0) == 30.0
    assert p.next_delay(server_hint=600.0) == MAX
    assert p.next_delay(server_hint=0.5) >= MIN  # a short hint does not speed us up


# ----- failures ---------------------------------------------------------------------------------------


def test_the_first_failure_retries_after_about_min_interval_not_at_once() -> None:
    for seed in range(50):
        p = planner(seed=seed, min_interval=MIN, max_interval=MAX, jitter=0.1)
        delay = p.failure(now=0.0)
        assert delay is not None
        assert 0.9 * MIN <= delay <= MIN


def test_failures_back_off_exponentially_up_to_max_interval() -> None:
    p = planner(min_interval=MIN, max_interval=MAX, failure_budget=10_000)
    delays = [p.failure(now=float(t)) for t in range(7)]
    assert delays == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0]


def test_a_failure_honours_the_servers_retry_after_within_the_bounds() -> None:
    p = planner(min_interval=MIN, max_interval=MAX)
    assert p.failure(now=0.0, retry_after=30.0) == 30.0
    assert p.failure(now=1.0, retry_after=600.0) == MAX
    fresh = planner(min_interval=MIN, max_interval=MAX)
    assert fresh.failure(now=0.0, retry_after=0.0) == MIN  # "retry now" still waits min_interval


def test_failures_give_up_after_the_budget_and_never_sleep_past_it() -> None:
    p = planner(min_interval=MIN, max_interval=MAX, failure_budget=100.0)
    now, slept = 0.0, []
    while (delay := p.failure(now)) is not None:
        slept.append(delay)
        now += delay
    assert now == pytest.approx(100.0)  # the last sleep is cut to what the budget has left
    assert slept[-1] < MAX
    assert p.failures == len(slept) + 1


def test_a_successful_poll_ends_the_streak_and_restarts_the_budget() -> None:
    p = planner(min_interval=MIN, max_interval=MAX, failure_budget=100.0)
    for t in (0.0, 5.0, 15.0, 35.0, 75.0):
        assert p.failure(t) is not None
    p.observe(queued(), 90.0)
    assert p.failures == 0
    assert p.failure(150.0) == MIN  # backoff starts over...
    assert p.failure(240.0) is not None  # ...and so does the budget (90 s into a new streak)
    assert p.failure(250.0) is None


# ----- the policy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"min_interval": 0.0},
        {"min_interval": 10.0, "max_interval": 5.0},
        {"eta_fraction": 0.0},
        {"eta_fraction": 1.5},
        {"growth": 0.9},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"failure_budget": -1.0},
    ],
)
def test_a_policy_that_cannot_work_is_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"PollPolicy|Poll intervals") as refused:
        PollPolicy(**fields)  # type: ignore[arg-type]
    assert any(name in str(refused.value) for name in fields)


@pytest.mark.parametrize(
    "fields",
    [
        {"min_interval": 5.0, "max_interval": 5.0},
        {"eta_fraction": 1.0},
        {"growth": 1.0},
        {"jitter": 0.0},
        {"jitter": 0.99},
        {"failure_budget": 0.0},
        {"failure_budget": 0.5},
    ],
)
def test_edge_values_of_a_policy_are_allowed(fields: dict[str, float]) -> None:
    PollPolicy(**fields)  # type: ignore[arg-type]


def test_a_policy_travels_as_json_and_back() -> None:
    policy = PollPolicy(min_interval=2.0, max_interval=30.0, adaptive=False, jitter=0.0, failure_budget=90.0)
    assert PollPolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy
    assert PollPolicy.from_dict(None) == PollPolicy()
    assert PollPolicy.from_dict({}) == PollPolicy()
