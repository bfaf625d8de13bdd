"""The http package on its own: mount patterns as httpx routes them, the one retry loop, the owned transport."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from airflow_provider_vidjobs.exceptions import APIUnavailableError, AuthenticationError
from airflow_provider_vidjobs.http.clients import Retrying
from airflow_provider_vidjobs.http.proxies import proxy_for
from airflow_provider_vidjobs.retry import RetryPolicy

LOG = logging.getLogger("test")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/x", "http://specific:1"),
        ("https://example.com", "http://domain:1"),
        ("https://www.example.com", "http://domain:1"),
        ("https://notexample.com", "http://all:1"),
        ("http://10.0.0.1", None),
        ("https://example.com:8443", "http://port:1"),
        ("http://other.org", "http://all:1"),
    ],
)
def test_mounts_route_most_specific_first(url, expected):
    mounts = {
        "all://": "http://all:1",
        "all://*example.com": "http://domain:1",
        "https://api.example.com": "http://specific:1",
        "all://example.com:8443": "http://port:1",
        "all://10.0.0.1": None,
    }
    assert proxy_for(url, mounts) == expected


def _policy(attempts: int) -> RetryPolicy:
    return RetryPolicy(max_attempts=attempts)


def _run(retrying: Retrying, outcomes: list[BaseException | str]) -> tuple[str, list[float]]:
    delays: list[float] = []
    for attempt in retrying:
        with attempt:
            outcome = outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome, delays
        delays.append(attempt.delay)
    raise AssertionError("unreachable")


def _retrying(attempts: int, *, idempotent: bool = True) -> Retrying:
    return Retrying(
        _policy(attempts), provider="tensorpix", job_id="j", base_url="https://x", log=LOG, idempotent=idempotent
    )


def _unavailable() -> APIUnavailableError:
    return APIUnavailableError("down", provider="tensorpix", job_id="j", http_status=503)


def test_transient_failures_are_retried_then_succeed():
    result, delays = _run(_retrying(3), [_unavailable(), httpx.ConnectError("no"), "ok"])
    assert result == "ok"
    assert len(delays) == 2


def test_the_last_transient_failure_is_raised():
    error = _unavailable()
    with pytest.raises(APIUnavailableError) as raised:
        _run(_retrying(2), [_unavailable(), error])
    assert raised.value is error


def test_a_transport_error_becomes_the_providers_error():
    with pytest.raises(APIUnavailableError):
        _run(_retrying(1), [httpx.ConnectError("refused")])


def test_a_permanent_error_is_not_retried():
    error = AuthenticationError("no", provider="tensorpix", job_id="j", http_status=401)
    outcomes: list[BaseException | str] = [error, "ok"]
    with pytest.raises(AuthenticationError):
        _run(_retrying(3), outcomes)
    assert outcomes == ["ok"]


def test_a_non_idempotent_request_is_not_retried_after_a_5xx():
    outcomes: list[BaseException | str] = [_unavailable(), "ok"]
    with pytest.raises(APIUnavailableError):
        _run(_retrying(3, idempotent=False), outcomes)
    assert outcomes == ["ok"]


def test_a_non_idempotent_request_is_retried_when_no_connection_was_made():
    assert _run(_retrying(2, idempotent=False), [httpx.ConnectError("refused"), "ok"])[0] == "ok"


def test_the_shared_client_sends_through_the_transport_it_owns():
    asyncio.run(_send_through_owned_transport())


async def _send_through_owned_transport() -> None:
    from airflow_provider_vidjobs.http import clients

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="https://api.example") as http:
        shared = clients.SharedClient(http, asyncio.Semaphore(1), transport=transport)
        response = await shared.send(http.build_request("GET", "/v1/x"))
        assert response.status_code == 200
        assert response.request.url.path == "/v1/x"
    assert seen == ["https://api.example/v1/x"]
