"""Fixtures of the hardening suite: the simulator keyed with the canary, fast retries, and a leak watch.

Every test here runs under :func:`leak_watch` (autouse): the root logger, ``httpx`` and ``httpcore``
are captured at DEBUG, Airflow's structlog output is read from the process's stdout/stderr, and at
teardown none of them, nor any object the test handed to ``leak_watch.track``, may contain the canary
key (text, repr, pickle).
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from ._harness import (
    CANARY_KEY,
    FAST_TIMEOUTS,
    PROVIDERS,
    Outcome,
    contract,
    download_outcome,
    poke_outcome,
    trigger_outcome,
)


@pytest.fixture(autouse=True)
def _same_canary_as_the_whole_suite(canary_key: str) -> None:
    """The key of tests/conftest.py: the leak checks below watch for exactly that string."""
    assert canary_key == CANARY_KEY


class LeakWatch:
    """Collects what a test produced that could carry the key; :meth:`check` fails on any trace of it."""

    def __init__(self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
        self.caplog = caplog
        self.capfd = capfd
        self.output = ""
        self.tracked: list[tuple[str, Any]] = []

    def track(self, what: str, value: Any) -> Any:
        """Check ``value`` (an object of ours, an error, an XCom, a payload) at teardown; returns it."""
        self.tracked.append((what, value))
        return value

    def read_output(self) -> str:
        captured = self.capfd.readouterr()
        self.output += captured.out + captured.err
        return self.output

    def log_text(self) -> str:
        handler = logging.Handler()
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        parts = []
        for record in self.caplog.records:
            parts.append(handler.format(record))  # message with args, plus exc_info/stack text
            parts.append(repr(record.args))
            parts.append(repr({k: v for k, v in record.__dict__.items() if k not in ("args", "msg")}))
        return "\n".join(parts)

    def findings(self) -> list[str]:
        found = []
        if CANARY_KEY in self.read_output():
            found.append("stdout/stderr (Airflow's structlog output)")
        if CANARY_KEY in self.log_text():
            found.append("a captured log record")
        for what, value in self.tracked:
            for form, text in _forms(value):
                if CANARY_KEY in text:
                    found.append(f"{what} ({form})")
        return found

    def check(self) -> None:
        found = self.findings()
        assert not found, f"the canary key leaked into: {found}"


def _forms(value: Any) -> Iterator[tuple[str, str]]:
    """Text forms to search: str and repr always; pickle for errors (Airflow pickles task exceptions) and
    for plain data (XComs, events, kwargs); JSON for plain data. Hooks and operators hold the key in memory
    by necessity and are never pickled by Airflow, so only their str/repr are checked."""
    yield "str", str(value)
    yield "repr", repr(value)
    if isinstance(value, BaseException | dict | list | tuple | str):
        with contextlib.suppress(Exception):  # not every third-party exception pickles
            data = pickle.dumps(value)
            yield "pickle", data.decode("latin-1")
            if isinstance(value, BaseException):
                again = pickle.loads(data)
                yield "unpickled", f"{again} {again!r}"
    with contextlib.suppress(TypeError, ValueError):
        if isinstance(value, dict | list | tuple | str):
            yield "json", json.dumps(value, default=str)


@pytest.fixture(autouse=True)
def leak_watch(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[LeakWatch]:
    for name in (None, "httpx", "httpcore", "airflow", "airflow_provider_vidjobs"):
        caplog.set_level(logging.DEBUG, logger=name)
    watch = LeakWatch(caplog, capfd)
    yield watch
    watch.check()


class Sleeps(list[float]):
    """The waits the hooks' retry loop asked for (they are cut to 10 ms so the suite stays fast)."""


@pytest.fixture(autouse=True)
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    """Record the sync retry loop's waits and shorten them; only the hooks module's ``time`` is replaced."""
    from airflow_provider_vidjobs.hooks import base

    waits = Sleeps()
    real = time

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        real.sleep(min(seconds, 0.01))

    class _Time(types.SimpleNamespace):
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(base, "time", _Time(sleep=sleep))
    return waits


@pytest.fixture
def define_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Define (or replace) an Airflow connection as an ``AIRFLOW_CONN_<ID>`` variable; the key is the canary."""

    def define(
        conn_id: str, conn_type: str, host: str | None, *, password: str | None = CANARY_KEY, **fields: Any
    ) -> None:
        conn: dict[str, Any] = {"conn_type": conn_type, "extra": {**FAST_TIMEOUTS, **fields.pop("extra", {})}}
        for key, value in (("host", host), ("password", password), *fields.items()):
            if value is not None:
                conn[key] = value
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))

    return define


@pytest.fixture
def sim(vidjobs_simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SimulatorHandle:
    """The reset simulator accepting only the canary key; every registered API's default connection points
    at it with it."""
    vidjobs_simulator.control.set_keys(**{provider: [CANARY_KEY] for provider in PROVIDERS})
    for provider in PROVIDERS:
        conn = {"conn_type": provider, "host": vidjobs_simulator.url, "password": CANARY_KEY, "extra": FAST_TIMEOUTS}
        monkeypatch.setenv(f"AIRFLOW_CONN_{contract(provider).conn_id.upper()}", json.dumps(conn))
    return vidjobs_simulator


@pytest.fixture
def run(leak_watch: LeakWatch, tmp_path: Path) -> Callable[..., Outcome]:
    """``run(path, provider, job_id, **options)``: how one task ends when it waits (``trigger``, ``poke``)
    or downloads (``download``, into ``tmp_path/videos/``); everything it produced is watched for the key."""

    def go(path: str, provider: str, job_id: Any, **options: Any) -> Outcome:
        if path == "trigger":
            outcome = trigger_outcome(provider, job_id, **options)
        elif path == "poke":
            outcome = poke_outcome(provider, job_id, **options)
        else:
            outcome = download_outcome(provider, job_id, f"{tmp_path}/videos/", **options)
        for what, value in outcome.leak_surfaces():
            leak_watch.track(what, value)
        return outcome

    return go
