"""Shared fixtures for the unit tests: the canary key, env connections, and a mock API behind the hooks.

Every connection uses :data:`CANARY_KEY`; tests that exercise failures check that this exact string
never shows in an exception's text, repr or pickled form, nor in a captured log.

HTTP never leaves the process. The ``api`` fixture wraps ``clients.build_sync_client`` and
``clients.build_async_client`` (the seam the async pool builds its shared clients through): the real
clients are built, with their base URL, headers, timeouts and redirect policy, and only their transport
is swapped for an ``httpx.MockTransport``. :func:`install_mock_transport` does the same for one hook's
sync client (``hook.get_conn()._transport``) with a handler of the test's own.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from _apis import CONTRACT_APIS

#: The API key of every test connection. It must never appear in an error, a repr or a log line.
CANARY_KEY = "canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"

FIXTURES = Path(__file__).parent / "fixtures"

Reply = Callable[[httpx.Request], httpx.Response]


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def set_connection(
    monkeypatch: pytest.MonkeyPatch,
    conn_id: str,
    conn_type: str,
    *,
    host: str | None = None,
    password: str | None = CANARY_KEY,
    schema: str | None = None,
    port: int | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Define an Airflow connection the way deployments do: an ``AIRFLOW_CONN_<ID>`` JSON env var."""
    conn: dict[str, Any] = {"conn_type": conn_type}
    for key, value in (("host", host), ("password", password), ("schema", schema), ("port", port)):
        if value is not None:
            conn[key] = value
    if extra is not None:
        conn["extra"] = extra
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


class MockAPI:
    """A scripted API: replies are served in order (the last one repeats) and every request is kept
    (``api.requests``; ``api.paths`` gives their raw, still percent-encoded paths).

    A reply is an ``httpx.Response`` factory (``api.json(...)``), or an exception instance, which the
    transport raises (a connection error or a timeout).
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._replies: list[Reply | BaseException] = []
        self.transport = httpx.MockTransport(self._handle)
        #: Every ``AsyncClient`` the pool built through ``clients.build_async_client``.
        self.async_clients: list[httpx.AsyncClient] = []

    # ----- scripting ----------------------------------------------------------------------------

    def script(self, *replies: Reply | BaseException) -> MockAPI:
        self._replies = list(replies)
        return self

    @staticmethod
    def json(status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        def reply(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, json=body if body is not None else {}, headers=headers)

        return reply

    @staticmethod
    def raw(status: int = 200, content: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
        def reply(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, content=content, headers=headers)

        return reply

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._replies:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        reply = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        if isinstance(reply, BaseException):
            raise reply
        return reply(request)

    @property
    def paths(self) -> list[str]:
        return [request.url.raw_path.decode("ascii") for request in self.requests]


def install_mock_transport(hook: Any, handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    client: httpx.Client = hook.get_conn()
    client._transport = httpx.MockTransport(handler)
    return client


@pytest.fixture(autouse=True)
def fresh_settings_cache() -> Iterator[None]:
    """Tests redefine connections under the same ids: no test sees the previous one's cached settings."""
    from airflow_provider_vidjobs.http import settings_cache

    settings_cache.clear()
    yield
    settings_cache.clear()


@pytest.fixture(name="install_mock_transport")
def install_mock_transport_fixture() -> Callable[[Any, Callable[[httpx.Request], httpx.Response]], httpx.Client]:
    """:func:`install_mock_transport`, for tests that bring their own handler."""
    return install_mock_transport


@pytest.fixture
def load_example() -> Callable[[str], Any]:
    """Read a vendor example document from ``tests/fixtures`` (a fresh copy each call)."""
    return load_fixture


@pytest.fixture
def canary_key() -> str:
    return CANARY_KEY


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Every registered API's default connection (``<conn type>_default``, see tests/_apis.py) with the canary
    key; call the fixture to add or replace one."""
    for name, contract in CONTRACT_APIS.items():
        set_connection(monkeypatch, contract.conn_id, name)

    def define(conn_id: str, conn_type: str, **fields: Any) -> None:
        set_connection(monkeypatch, conn_id, conn_type, **fields)

    return define


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> MockAPI:
    """A :class:`MockAPI` that every client a hook builds answers through, so no test reaches the network.

    The real builders run (base URL, headers, timeouts, TLS, redirects as configured); only the
    transport is swapped. Async clients are counted in ``api.async_clients``.
    """
    from airflow_provider_vidjobs.http import clients

    mock = MockAPI()
    build_sync = clients.build_sync_client
    build_async = clients.build_async_client

    def build_sync_client(settings: Any) -> httpx.Client:
        client = build_sync(settings)
        client._transport = mock.transport
        return client

    def build_async_client(settings: Any, verify: Any, transport: Any = None) -> httpx.AsyncClient:
        client = build_async(settings, verify, mock.transport)
        mock.async_clients.append(client)
        return client

    monkeypatch.setattr(clients, "build_sync_client", build_sync_client)
    monkeypatch.setattr(clients, "build_async_client", build_async_client)
    monkeypatch.setattr(clients, "build_async_transport", lambda settings, verify: mock.transport)
    return mock


@pytest.fixture(params=["sync", "async"])
def fetch_job(request: pytest.FixtureRequest) -> Callable[[Any, Any], Any]:
    """``get_job`` or ``aget_job`` (in a fresh event loop): every hook behaviour is checked both ways."""
    import asyncio

    mode = request.param

    def fetch(hook: Any, job_id: Any) -> Any:
        if mode == "sync":
            return hook.get_job(job_id)
        return asyncio.run(hook.aget_job(job_id))

    fetch.mode = mode  # type: ignore[attr-defined]
    return fetch


class _ModuleProxy:
    """Stands in for a module inside ONE module under test: ``overrides`` first, the real module after.

    Patching ``time.sleep`` or ``asyncio.sleep`` themselves would also stop the sleeps of other threads
    and event loops in the process (a simulator's server, for one); this touches only the hooks' calls.
    """

    def __init__(self, module: Any, **overrides: Any) -> None:
        self._module = module
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the hooks' retry waits (their ``time.sleep`` and ``asyncio.sleep``) instead of waiting."""
    import asyncio
    import time

    from airflow_provider_vidjobs.hooks import base

    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async def fake_async_sleep(seconds: float, *args: Any) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(base, "time", _ModuleProxy(time, sleep=fake_sleep))
    monkeypatch.setattr(base, "asyncio", _ModuleProxy(asyncio, sleep=fake_async_sleep))
    return waits


@pytest.fixture
def backoff_at_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the jittered backoff deterministic: every draw returns the top of its range."""
    import random

    from airflow_provider_vidjobs import retry

    monkeypatch.setattr(retry, "random", _ModuleProxy(random, uniform=lambda low, high: high))


@pytest.fixture
def fresh_status_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which unknown statuses were already logged, so "logged once" is checked from zero."""
    from airflow_provider_vidjobs import models

    monkeypatch.setattr(models, "_warned", set())


class LeakGuard:
    """Collects the errors a test raised and, at teardown, checks none of them nor the logs holds the key.

    Standard-library log records are read from ``caplog``; the hooks' own ``self.log`` is Airflow's
    structlog logger, which writes to the process's stdout, so that output is read with ``capfd``.
    """

    def __init__(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
        self.caplog = caplog
        self.capfd = capfd
        self.errors: list[BaseException] = []
        self.output = ""

    @contextmanager
    def raises(self, kind: type[BaseException], match: str | None = None) -> Iterator[Any]:
        with pytest.raises(kind, match=match) as info:
            yield info
        self.errors.append(info.value)

    def read_output(self) -> str:
        """Everything written to stdout/stderr so far (structlog lines included); kept for the final check."""
        captured = self.capfd.readouterr()
        self.output += captured.out + captured.err
        return self.output

    def check(self) -> None:
        assert CANARY_KEY not in self.read_output()
        for error in self.errors:
            assert_no_key(error)
        logged = "\n".join(
            f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in self.caplog.records
        )
        assert CANARY_KEY not in logged
        assert CANARY_KEY not in self.caplog.text


def assert_no_key(error: BaseException) -> None:
    """The canary key is not in the error's text, repr, pickled form, nor in its rebuilt copy."""
    assert CANARY_KEY not in str(error)
    assert CANARY_KEY not in repr(error)
    data = pickle.dumps(error)
    assert CANARY_KEY.encode() not in data
    assert CANARY_KEY not in str(pickle.loads(data))


@pytest.fixture
def leak_guard(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[LeakGuard]:
    caplog.set_level(logging.DEBUG)
    guard = LeakGuard(caplog, capfd)
    yield guard
    guard.check()
