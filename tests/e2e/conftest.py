"""End-to-end tests against a real Airflow deployment (``make e2e``); never part of ``pytest tests``.

Collection is ignored (not skipped) unless ``VIDJOBS_E2E=1``, so the unit suite neither runs nor
reports these tests. Heavy imports happen inside fixtures: the unit run imports only this file.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

E2E_ENV = "VIDJOBS_E2E"
E2E_DIR = Path(__file__).resolve().parent
ENABLED = os.environ.get(E2E_ENV) == "1"

if ENABLED and str(E2E_DIR) not in sys.path:
    sys.path.insert(0, str(E2E_DIR))  # the harness package, whatever pytest's import mode

if TYPE_CHECKING:
    from vidjobs_e2e.report import ScenarioResult
    from vidjobs_e2e.stack import E2EStack


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave everything under tests/e2e out of the run unless the e2e run asked for it."""
    if not ENABLED:
        return True
    if E2E_DIR / "dags" in collection_path.parents or collection_path == E2E_DIR / "dags":
        return True  # DAG files are for Airflow's dag-processor, not for pytest
    return None


_SESSION_START = time.monotonic()


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[ScenarioResult]:
    """Times a scenario and records its outcome for the summary (``scenario.waits`` is set by the test)."""
    from vidjobs_e2e.report import RESULTS, ScenarioResult

    marker = request.node.get_closest_marker("scenario")
    name = marker.args[0] if marker else request.node.name
    result = ScenarioResult(name=name)
    RESULTS.append(result)
    started = time.monotonic()
    result.result = "running"
    yield result
    result.seconds = time.monotonic() - started


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    if not ENABLED:
        return
    from vidjobs_e2e.report import RESULTS

    report = outcome.get_result()
    if report.when == "call":
        for res in RESULTS:
            if res.result == "running":
                res.result = "PASSED" if report.passed else ("FAILED" if report.failed else "skipped")
    elif report.failed:
        for res in RESULTS:
            if res.result == "running":
                res.result = f"ERROR ({report.when})"


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    if ENABLED:
        from vidjobs_e2e.report import RESULTS

        for res in RESULTS:
            if res.result == "running":
                res.result = "INTERRUPTED"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario(name): an e2e scenario shown in the closing summary")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not ENABLED:
        return
    from vidjobs_e2e.report import RESULTS, TIMINGS
    from vidjobs_e2e.stack import PEAK

    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("vidjobs e2e scenarios")
    if TIMINGS:
        tr.write_line("start-up: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMINGS.items()))
    tr.write_line(f"{'scenario':<44} {'waits':>6} {'seconds':>8}  result")
    for res in RESULTS:
        tr.write_line(f"{res.name:<44} {res.waits:>6} {res.seconds:>8.1f}  {res.result}")
        for note in res.notes:
            tr.write_line(f"    {note}")
    tr.write_line(f"total wall time (session): {time.monotonic() - _SESSION_START:.1f}s")
    if PEAK.rss_mb:
        tr.write_line(f"peak memory of the deployment (sum of PSS, sampled every 5 s): {PEAK.rss_mb:.0f} MiB")


@pytest.fixture(scope="session")
def stack() -> Iterator[E2EStack]:
    """PostgreSQL + simulator + Airflow (api-server, scheduler, dag-processor, triggerer), torn down always."""
    from vidjobs_e2e.stack import E2EStack

    previous = signal.getsignal(signal.SIGTERM)

    def _on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds pytest so the teardown below runs

    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    st = E2EStack(dags_dir=E2E_DIR / "dags", lineage=True)
    try:
        st.start()
        yield st
    finally:
        st.close()
        signal.signal(signal.SIGTERM, previous)
