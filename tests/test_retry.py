"""The retry policy: what is retried, the server's wait hints, and capped full-jitter backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_vidjobs import retry
from airflow_provider_vidjobs.http.responses import parse_poll_after, parse_retry_after
from airflow_provider_vidjobs.retry import NO_RETRY, RetryPolicy, is_retryable_status

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 599])
def test_transient_statuses_are_retryable(status):
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 409, 413, 422])
def test_other_statuses_are_not_retryable(status):
    assert not is_retryable_status(status)


# ----- server hints -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "30"}, 0.25),  # the precise one wins
        ({"retry-after-ms": "soon", "Retry-After": "7"}, 7.0),  # a bad ms value falls back
        ({"Retry-After": "whenever"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, seconds):
    assert parse_retry_after(httpx.Headers(headers), now=NOW.timestamp()) == seconds


def test_parse_retry_after_http_date():
    when = format_datetime(NOW + timedelta(seconds=42), usegmt=True)  # "Sun, 01 Jun 2025 12:00:42 GMT"
    assert parse_retry_after(httpx.Headers({"Retry-After": when}), now=NOW.timestamp()) == 42.0


def test_parse_retry_after_http_date_in_the_past_means_now():
    when = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": when}), now=NOW.timestamp()) == 0.0


def test_parse_retry_after_http_date_against_the_clock():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 117 <= parse_retry_after(httpx.Headers({"Retry-After": when})) <= 120


def test_parse_retry_after_reads_lowercase_plain_dicts():
    assert parse_retry_after({"retry-after": "4"}) == 4.0
    assert parse_retry_after({"retry-after-ms": "40"}) == 0.04


def test_parse_retry_after_reads_httpx_headers_in_any_case():
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER-MS": "100"})) == 0.1
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"openai-poll-after-ms": "2000"}, 2.0),
        ({"openai-poll-after-ms": "x"}, None),
        ({"openai-poll-after-ms": "-1"}, 0.0),
        ({}, None),
    ],
)
def test_parse_poll_after(headers, seconds):
    assert parse_poll_after(headers) == seconds


# ----- waits ------------------------------------------------------------------------------------


def test_server_hint_is_used_as_is_up_to_the_cap():
    policy = RetryPolicy(retry_after_cap=60.0)
    assert policy.delay(1, 12.5) == 12.5
    assert policy.delay(3, 0.0) == 0.0
    assert policy.delay(1, 3600.0) == 60.0
    assert RetryPolicy(retry_after_cap=5).delay(1, 30) == 5


@pytest.mark.usefixtures("backoff_at_ceiling")
def test_without_a_hint_the_wait_is_the_backoff():
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    assert [policy.delay(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_backoff_draws_uniformly_from_zero_to_the_capped_ceiling(monkeypatch):
    calls: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        calls.append((low, high))
        return (low + high) / 2

    monkeypatch.setattr(retry, "random", SimpleNamespace(uniform=uniform))
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=5.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 0)] == [0.5, 1.0, 2.0, 2.5, 0.5]
    assert calls == [(0, 1.0), (0, 2.0), (0, 4.0), (0, 5.0), (0, 1.0)]


def test_backoff_is_full_jitter_within_the_cap(monkeypatch):
    monkeypatch.setattr(retry, "random", random.Random(1234))
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=8.0)
    for number, ceiling in [(1, 0.5), (3, 2.0), (10, 8.0)]:
        draws = [policy.backoff(number) for _ in range(400)]
        assert all(0 <= d <= ceiling for d in draws)
        # full jitter: spread over the whole range, not clustered near the ceiling
        assert min(draws) < 0.1 * ceiling
        assert max(draws) > 0.9 * ceiling
        assert len(set(draws)) > 350


@settings(max_examples=200, deadline=None)
@given(
    retry_number=st.integers(min_value=-3, max_value=200),
    base=st.floats(min_value=0, max_value=10, allow_nan=False),
    cap=st.floats(min_value=0, max_value=120, allow_nan=False),
)
def test_backoff_never_exceeds_the_cap(retry_number, base, cap):
    wait = RetryPolicy(backoff_base=base, backoff_cap=cap).backoff(retry_number)
    assert 0 <= wait <= cap


# ----- the policy object ------------------------------------------------------------------------


def test_defaults():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff_base, policy.backoff_cap, policy.retry_after_cap) == (4, 0.5, 8.0, 60.0)
    assert NO_RETRY.max_attempts == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"backoff_base": -1}, {"backoff_cap": -0.1}, {"retry_after_cap": -1}],
)
def test_impossible_policies_are_refused(kwargs):
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)


def test_policy_round_trips_through_a_dict():
    policy = RetryPolicy(max_attempts=6, backoff_base=0.1, backoff_cap=2.0, retry_after_cap=30.0)
    assert policy.to_dict() == {"max_attempts": 6, "backoff_base": 0.1, "backoff_cap": 2.0, "retry_after_cap": 30.0}
    assert RetryPolicy.from_dict(policy.to_dict()) == policy
    assert RetryPolicy.from_dict(None) == RetryPolicy()


@pytest.mark.parametrize("cap", [0.0, 0.5])
def test_a_retry_after_cap_of_zero_or_under_a_second_is_a_valid_policy(cap: float) -> None:
    """0 means "never sit out a Retry-After longer than the backoff"; only negative waits are refused."""
    assert RetryPolicy(retry_after_cap=cap).retry_after_cap == cap


@pytest.mark.parametrize("field", ["backoff_base", "backoff_cap", "retry_after_cap"])
def test_a_negative_wait_is_refused_clearly(field: str) -> None:
    with pytest.raises(ValueError, match=r"^RetryPolicy waits must not be negative$"):
        RetryPolicy(**{field: -1.0})
