"""PollPlanner's bounds: jitter only shortens a delay, the first poll is spread too, max_interval holds."""

from __future__ import annotations

import random

import pytest

from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.polling import PollPlanner, PollPolicy


def planner(**policy: float) -> PollPlanner:
    return PollPlanner(PollPolicy(**policy), _rng=random.Random(7))  # type: ignore[arg-type]


def test_the_first_poll_is_spread_over_the_jitter_and_never_later() -> None:
    p = PollPlanner(PollPolicy(min_interval=10, jitter=0.1))
    delays = [p.first_delay(10.0) for _ in range(500)]

    assert all(9.0 <= d <= 10.0 for d in delays)
    assert max(delays) - min(delays) > 0.5  # spread, not one instant for every wait


@pytest.mark.parametrize("delay", [0.0, -1.0])
def test_no_first_delay_stays_immediate(delay: float) -> None:
    assert planner(jitter=0.1).first_delay(delay) == 0.0


def test_without_jitter_the_first_delay_is_exact() -> None:
    assert planner(jitter=0.0).first_delay(7.5) == 7.5


def test_delays_never_exceed_max_interval_without_progress() -> None:
    p = planner(min_interval=1, max_interval=8, growth=2)
    job = VideoJob(provider="tensorpix", job_id="j", status=JobStatus.QUEUED)
    delays = []
    for step in range(12):
        p.observe(job, float(step))
        delays.append(p.next_delay())

    assert all(d <= 8 for d in delays)
    assert max(delays) > 7  # it does grow towards the bound
