"""The fault matrix: each way the API misbehaves, through the trigger, the sensor in poke mode and the download.

Every row of ``docs/fault_matrix.md`` names the tests here that prove its outcome. Each run goes over
real HTTP to the simulator (or to a raw server of ``_servers.py``), with the canary key, and the leak
watch of ``conftest.py`` checks the logs, the task's error, its XComs, the trigger's event and kwargs,
and the objects involved for that key.

Paths:
- ``trigger``: :class:`VideoJobTrigger` polls to its one event, then ``VideoJobSensor.execute_complete``
  turns the event into the task's result, as a worker does when the task resumes;
- ``poke``: ``VideoJobSensor(deferrable=False, mode="poke").execute()``;
- ``download``: ``DownloadVideoOperator.execute()`` (a fault on the job GET hits the fresh-URL lookup).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

from airflow_provider_vidjobs.exceptions import (
    APIUnavailableError,
    AuthenticationError,
    DownloadError,
    InvalidResponseError,
    JobFailedError,
    JobNotFoundError,
    VideoJobError,
)
from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from ._harness import DONE, FOREVER, PROVIDERS, QUICK, Outcome, contract, files_in, job_stats, new_job
from ._servers import black_hole, closed_port

PATHS = ("trigger", "poke", "download")
STORAGE = tuple(p for p in PROVIDERS if contract(p).facts.presigned_storage)
each_api = pytest.mark.parametrize("provider", PROVIDERS)


def job_get(provider: str) -> str:
    """The endpoint a wait on ``provider`` polls (fault rules on it hit every poll)."""
    return contract(provider).job_endpoint


def asset_get(provider: str) -> str:
    """The endpoint ``provider``'s video bytes come from."""
    return contract(provider).asset_endpoint


def rereads(path: str, provider: str) -> int:
    """Job reads after the trigger's event: its pre-signed URLs travel masked (``signature=***``), so the
    resumed task reads the job once more for a working URL (README, "Connections")."""
    return 1 if path == "trigger" and contract(provider).facts.presigned_storage else 0


def job_for(sim: SimulatorHandle, path: str, provider: str, *faults: dict[str, Any], **timeline: Any) -> str:
    """A job that finishes quickly (already finished for a download), with ``faults`` on its requests."""
    base = DONE if path == "download" else QUICK
    return new_job(sim, provider, {**base, **timeline}, faults=list(faults))


def assert_succeeded(outcome: Outcome, job_id: str) -> None:
    assert outcome.ok, outcome.message
    value = outcome.value
    assert value["job_id"] == job_id
    if "status" in value:
        assert value["status"] == "succeeded"
    else:  # the download's result
        assert value["bytes"] > 0
        assert Path(value["path"]).is_file()


def assert_names(outcome: Outcome, provider: str, job_id: str, *words: str) -> None:
    """The task's error names the API, the job and the cause."""
    text = outcome.message
    assert f"{provider} job {job_id}" in text, text
    for word in words:
        assert word in text, text


@contextmanager
def after_first_poll(sim: SimulatorHandle, job_id: str, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` (delete the job, revoke the key) once the job has been read at least once."""

    def watch() -> None:
        deadline = time.monotonic() + 10
        while job_stats(sim, job_id)["requests"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(10)


# ----- 429 ---------------------------------------------------------------------------------------


@each_api
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("retry_after", "fmt"), [(1, "seconds"), (2, "http-date")])
def test_429_with_retry_after_is_waited_out(
    sim: SimulatorHandle, run: Any, retry_sleeps: list[float], path: str, retry_after: int, fmt: str, provider: str
) -> None:
    rule = {"kind": "http_error", "status": 429, "retry_after": retry_after, "retry_after_format": fmt, "count": 1}
    job_id = job_for(sim, path, provider, {**rule, "endpoint": job_get(provider)})
    outcome = run(path, provider, job_id, **({"policy": {"max_interval": 5}} if path == "trigger" else {}))
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["statuses"]["429"] == 1
    if path == "trigger":
        # The server's wait, not the 0.05 s poll interval (an HTTP date has one-second resolution).
        assert outcome.elapsed >= retry_after - (1 if fmt == "http-date" else 0.1)
    else:
        # The sync retry slept what the server asked (an HTTP date has one-second resolution).
        assert retry_after - 1 < retry_sleeps[0] <= retry_after + 0.01


@each_api
@pytest.mark.parametrize("path", PATHS)
def test_429_without_retry_after_backs_off(
    sim: SimulatorHandle, run: Any, retry_sleeps: list[float], path: str, provider: str
) -> None:
    job_id = job_for(
        sim, path, provider, {"kind": "http_error", "status": 429, "count": 2, "endpoint": job_get(provider)}
    )
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["statuses"]["429"] == 2
    if path != "trigger":
        assert len(retry_sleeps) == 2
        assert all(0 <= s <= 1.0 for s in retry_sleeps)  # full jitter under 0.5 s, then 1 s
    else:
        assert outcome.elapsed < 2


@each_api
@pytest.mark.parametrize("path", PATHS)
def test_429_with_an_hour_long_retry_after_is_capped(
    sim: SimulatorHandle, run: Any, retry_sleeps: list[float], path: str, provider: str
) -> None:
    rule = {"kind": "http_error", "status": 429, "retry_after": 3600, "count": 1, "endpoint": job_get(provider)}
    job_id = job_for(sim, path, provider, rule)
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    if path == "trigger":
        assert outcome.elapsed < 3  # capped at the poll policy's max_interval (0.5 s here)
    else:
        assert retry_sleeps == [60.0]  # RetryPolicy.retry_after_cap


# ----- 5xx ---------------------------------------------------------------------------------------


@each_api
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_burst_shorter_than_the_retry_budget_is_absorbed(
    sim: SimulatorHandle, run: Any, retry_sleeps: list[float], path: str, status: int, provider: str
) -> None:
    job_id = job_for(
        sim, path, provider, {"kind": "http_error", "status": status, "count": 3, "endpoint": job_get(provider)}
    )
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["statuses"][str(status)] == 3
    if path != "trigger":
        assert len(retry_sleeps) == 3  # all inside one get_job: attempts 2, 3 and 4 of 4


@each_api
def test_5xx_burst_longer_than_the_retry_budget_poke_keeps_waiting(
    sim: SimulatorHandle, run: Any, retry_sleeps: list[float], leak_watch: Any, provider: str
) -> None:
    """Five 503s: the first poke spends its 4 attempts and reports 'not done'; the next poke succeeds."""
    job_id = job_for(sim, "poke", provider, {"kind": "http_error", "status": 503, "count": 5})
    outcome = run("poke", provider, job_id)
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["statuses"]["503"] == 5
    assert "will check again" in leak_watch.read_output()


@each_api
def test_5xx_burst_longer_than_one_request_budget_trigger_keeps_waiting(
    sim: SimulatorHandle, run: Any, provider: str
) -> None:
    """The trigger polls with one attempt each and sits failures out within its failure budget."""
    job_id = job_for(sim, "trigger", provider, {"kind": "http_error", "status": 502, "count": 6})
    outcome = run("trigger", provider, job_id)
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["statuses"]["502"] == 6


@each_api
def test_5xx_outage_longer_than_the_failure_budget_trigger_gives_up(
    sim: SimulatorHandle, run: Any, provider: str
) -> None:
    job_id = job_for(sim, "trigger", provider, {"kind": "http_error", "status": 503, "count": 10_000})
    outcome = run("trigger", provider, job_id, policy={"failure_budget": 1.0})
    assert outcome.event is not None
    assert outcome.event["outcome"] == "error"
    assert isinstance(outcome.error, APIUnavailableError)
    assert_names(outcome, provider, job_id, "gave up after", "failed polls over 1 s", "HTTP 503")
    assert outcome.elapsed < 5


@each_api
def test_5xx_burst_longer_than_the_retry_budget_download_fails(
    sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str
) -> None:
    job_id = job_for(sim, "download", provider, {"kind": "http_error", "status": 503, "count": 4})
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, APIUnavailableError)
    assert_names(outcome, provider, job_id, "HTTP 503", "the API is unavailable")
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("provider", STORAGE)
def test_5xx_from_storage_fails_the_download(sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str) -> None:
    rule = {"kind": "http_error", "status": 503, "count": 1, "endpoint": asset_get(provider)}
    job_id = job_for(sim, "download", provider, rule)
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(outcome, provider, job_id, "could not be downloaded", "HTTP 503")
    assert files_in(tmp_path) == []


# ----- timeouts, refused and reset connections ---------------------------------------------------


@each_api
@pytest.mark.parametrize("path", PATHS)
def test_connect_timeout(
    sim: SimulatorHandle, run: Any, define_connection: Any, tmp_path: Path, leak_watch: Any, path: str, provider: str
) -> None:
    with black_hole() as url:
        define_connection("hole", provider, url, extra={"connect_timeout": 0.2, "timeout": 0.5, "max_attempts": 2})
        job_id = contract(provider).facts.sample_id
        outcome = run(path, provider, job_id, conn_id="hole", **_give_up_fast(path))
    if path == "poke":  # transient: the sensor keeps poking until its own timeout
        assert isinstance(outcome.error, AirflowSensorTimeout)
        assert "timed out talking to" in leak_watch.read_output()
    else:
        assert isinstance(outcome.error, APIUnavailableError)
        assert_names(outcome, provider, job_id, f"timed out talking to {url}", "ConnectTimeout")
    assert files_in(tmp_path) == []


@each_api
@pytest.mark.parametrize("path", PATHS)
def test_connection_refused(
    sim: SimulatorHandle, run: Any, define_connection: Any, leak_watch: Any, path: str, provider: str
) -> None:
    url = closed_port()
    define_connection("refused", provider, url, extra={"max_attempts": 2})
    job_id = contract(provider).facts.sample_id
    outcome = run(path, provider, job_id, conn_id="refused", **_give_up_fast(path))
    if path == "poke":
        assert isinstance(outcome.error, AirflowSensorTimeout)
        assert f"could not reach {url}" in leak_watch.read_output()
    else:
        assert isinstance(outcome.error, APIUnavailableError)
        assert_names(outcome, provider, job_id, f"could not reach {url}")


def _give_up_fast(path: str) -> dict[str, Any]:
    if path == "trigger":
        return {"policy": {"failure_budget": 0.5}}
    if path == "poke":
        return {"timeout": 0.3}
    return {}


@each_api
@pytest.mark.parametrize("path", PATHS)
def test_read_timeout_is_retried(
    sim: SimulatorHandle, run: Any, define_connection: Any, retry_sleeps: list[float], path: str, provider: str
) -> None:
    define_connection("slow", provider, sim.url, extra={"timeout": 0.3})
    rule = {"kind": "latency", "delay_s": 1.0, "count": 1, "endpoint": job_get(provider)}
    job_id = job_for(sim, path, provider, rule)
    outcome = run(path, provider, job_id, conn_id="slow")
    assert_succeeded(outcome, job_id)
    if path != "trigger":
        assert len(retry_sleeps) == 1


@each_api
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", ["rst", "fin"])
def test_connection_reset_mid_body_is_retried(
    sim: SimulatorHandle, run: Any, retry_sleeps: list[float], path: str, mode: str, provider: str
) -> None:
    rule = {"kind": "reset", "reset_after_bytes": 40, "reset_mode": mode, "count": 1, "endpoint": job_get(provider)}
    job_id = job_for(sim, path, provider, rule)
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    assert sim.control.stats()["faults_fired"]["reset"] == 1


# ----- bodies that are not the documented JSON ---------------------------------------------------


NOT_JSON = [("truncated_json", "bytes that are not valid JSON"), ("html", "an HTML page")]


@each_api
@pytest.mark.parametrize("path", ["poke", "download"])
@pytest.mark.parametrize(("kind", "looks"), NOT_JSON)
def test_a_200_that_is_not_json_fails_a_single_read_clearly(
    sim: SimulatorHandle, run: Any, tmp_path: Path, path: str, kind: str, looks: str, provider: str
) -> None:
    job_id = job_for(sim, path, provider, {"kind": kind, "count": 1, "endpoint": job_get(provider)})
    outcome = run(path, provider, job_id)
    assert isinstance(outcome.error, InvalidResponseError)
    assert_names(outcome, provider, job_id, looks, "HTTP 200", "instead of JSON", "; it starts ")
    assert job_stats(sim, job_id)["requests"] == 1  # not retried: the same answer is likely to come again
    assert files_in(tmp_path) == []


@each_api
@pytest.mark.parametrize(("kind", "looks"), NOT_JSON)
def test_a_200_that_is_not_json_is_sat_out_by_a_deferred_wait(
    sim: SimulatorHandle, run: Any, leak_watch: Any, kind: str, looks: str, provider: str
) -> None:
    """A proxy's error page or a cut-short body in the middle of a long wait is a blip, not the end of it:
    logged once (with the body's first bytes), then polled again within the failure budget."""
    job_id = job_for(sim, "trigger", provider, {"kind": kind, "count": 2, "endpoint": job_get(provider)})
    outcome = run("trigger", provider, job_id)
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["requests"] >= 3
    logged = leak_watch.read_output() + leak_watch.log_text()
    assert looks in logged
    assert "; it starts " in logged
    assert "will keep trying for up to" in logged


@each_api
def test_a_200_that_is_never_json_ends_the_wait_after_the_failure_budget(
    sim: SimulatorHandle, run: Any, provider: str
) -> None:
    rule = {"kind": "html", "count": 10_000, "endpoint": job_get(provider)}
    job_id = job_for(sim, "trigger", provider, rule)
    outcome = run("trigger", provider, job_id, policy={"failure_budget": 1.0})
    assert outcome.event is not None
    assert outcome.event["outcome"] == "error"
    assert isinstance(outcome.error, InvalidResponseError)
    assert_names(outcome, provider, job_id, "gave up after", "failed polls over 1 s", "an HTML page")
    assert outcome.elapsed < 5


@pytest.mark.parametrize("path", PATHS)
@each_api
def test_schema_drift_is_tolerated(sim: SimulatorHandle, run: Any, path: str, provider: str) -> None:
    drift = dict(contract(provider).facts.drift)
    job_id = job_for(sim, path, provider, {**drift, "endpoint": job_get(provider)})
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    if path != "download":
        assert outcome.value["progress"] == 100.0
        assert outcome.value["prompt"] is None


# ----- statuses ----------------------------------------------------------------------------------


@each_api
@pytest.mark.parametrize("path", ["trigger", "poke"])
def test_unknown_status_keeps_the_wait_going_and_is_logged_once(
    sim: SimulatorHandle, run: Any, leak_watch: Any, fresh_status_warnings: None, path: str, provider: str
) -> None:
    rule = {"kind": "unknown_status", "value": "RENDERING_ON_GPU", "count": 4}
    # Without its file for those reads: an API where a file means done would end the wait on the first.
    hide = {"kind": "drift", "nulls": list(contract(provider).facts.file_fields), "count": 4}
    job_id = job_for(sim, path, provider, rule, hide, queued_s=0, running_s=0)
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["requests"] == 5 + rereads(path, provider)
    warnings = [r for r in leak_watch.caplog.records if "RENDERING_ON_GPU" in r.getMessage()]
    assert len(warnings) == 1
    assert "treating the job as still running" in warnings[0].getMessage()


@each_api
@pytest.mark.parametrize("path", ["trigger", "poke"])
def test_unknown_status_mapped_by_the_user_ends_the_wait(
    sim: SimulatorHandle, run: Any, path: str, provider: str
) -> None:
    job_id = job_for(sim, path, provider, {"kind": "unknown_status", "value": "RENDERED"}, outcome="stuck")
    overrides = {"RENDERED": "succeeded"}
    options = {"status_overrides": overrides}
    outcome = run(path, provider, job_id, **options)
    assert outcome.ok, outcome.message
    assert outcome.value["status"] == "succeeded"
    assert outcome.value["vendor_status"] == "RENDERED"


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if contract(p).facts.file_means_done])
def test_unknown_status_with_the_file_present_downloads(sim: SimulatorHandle, run: Any, provider: str) -> None:
    """An API whose job JSON carries the file (TensorPix's ``generated_video.file``): done, whatever the
    status string says."""
    job_id = job_for(sim, "download", provider, {"kind": "unknown_status", "value": "FINALIZING"})
    outcome = run("download", provider, job_id)
    assert_succeeded(outcome, job_id)


@each_api
def test_unknown_status_without_a_file_refuses_the_download(
    sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str
) -> None:
    hide = {"kind": "drift", "nulls": list(contract(provider).facts.file_fields)}
    job_id = job_for(sim, "download", provider, {"kind": "unknown_status", "value": "FINALIZING"}, hide)
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(outcome, provider, job_id, "has no video to download (status unknown)")
    assert files_in(tmp_path) == []


def _backwards(provider: str) -> list[dict[str, Any]]:
    """Reads 1: queued; 2: completed (the truth); 3 and later: running again, without the file."""
    facts = contract(provider).facts
    running = facts.wire_statuses["running"]
    no_file = list(facts.file_fields)  # where a file alone means done, it must go too
    first: dict[str, Any] = {"kind": "drift", "count": 1, "extra": {"status": "queued"}, "nulls": no_file}
    later: dict[str, Any] = {"kind": "drift", "skip": 2, "extra": {"status": running, "progress": 10}, "nulls": no_file}
    return [first, later]


@pytest.mark.parametrize("path", ["trigger", "poke"])
@each_api
def test_status_going_backwards_after_completion_cannot_reopen_the_wait(
    sim: SimulatorHandle, run: Any, path: str, provider: str
) -> None:
    """The first terminal status seen ends the wait: nothing after it is read."""
    job_id = job_for(sim, path, provider, *_backwards(provider), queued_s=0, running_s=0)
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    # The trigger stops at the first terminal status. A TensorPix event's signed URLs are masked, so the
    # resumed task reads the job once more; that read now says running, and the trigger's view is kept.
    assert job_stats(sim, job_id)["requests"] == 2 + rereads(path, provider)


@each_api
def test_status_going_backwards_before_the_download(
    sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str
) -> None:
    """The download reads the job again; one that now says running has no file to fetch: a clear failure."""
    rules = _backwards(provider)
    rules[1]["skip"] = 0
    job_id = job_for(sim, "download", provider, rules[1])
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(outcome, provider, job_id, "has no video to download (status running)")
    assert files_in(tmp_path) == []


@each_api
@pytest.mark.parametrize("path", ["trigger", "poke"])
def test_running_going_back_to_queued_keeps_waiting(sim: SimulatorHandle, run: Any, path: str, provider: str) -> None:
    facts = contract(provider).facts
    rules = [
        {"kind": "unknown_status", "value": facts.wire_statuses["running"], "count": 2},
        {"kind": "unknown_status", "value": facts.wire_statuses["queued"], "skip": 2, "count": 2},
        {"kind": "drift", "nulls": list(facts.file_fields), "count": 4},
    ]
    job_id = job_for(sim, path, provider, *rules, queued_s=0, running_s=0)
    outcome = run(path, provider, job_id)
    assert_succeeded(outcome, job_id)
    assert job_stats(sim, job_id)["requests"] == 5 + rereads(path, provider)


@each_api
@pytest.mark.parametrize("path", ["trigger", "poke"])
def test_job_failed_at_the_vendor(sim: SimulatorHandle, run: Any, path: str, provider: str) -> None:
    job_id = job_for(sim, path, provider, outcome="failed", error_code="moderation_blocked", error_message="No.")
    outcome = run(path, provider, job_id)
    assert isinstance(outcome.error, JobFailedError)
    reported = ("moderation_blocked", "No.") if contract(provider).facts.reports_error else ()
    assert_names(outcome, provider, job_id, "ended failed", *reported)


@each_api
def test_job_failed_at_the_vendor_download(sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str) -> None:
    job_id = job_for(sim, "download", provider, outcome="failed")
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(outcome, provider, job_id, "has no video to download (status failed)")
    assert files_in(tmp_path) == []


# ----- a job that never ends ---------------------------------------------------------------------


@each_api
def test_job_that_never_ends_trigger_times_out(sim: SimulatorHandle, run: Any, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)
    outcome = run("trigger", provider, job_id, deadline_in=0.5)
    assert outcome.event is not None
    assert outcome.event["outcome"] == "timeout"
    assert isinstance(outcome.error, AirflowSensorTimeout)
    assert f"{provider} job {job_id}: not finished by the task's deadline; last seen running" in outcome.message
    assert outcome.event["job"]["status"] == "running"  # the last state seen travels with the event


@each_api
def test_job_that_never_ends_trigger_soft_fail_skips(sim: SimulatorHandle, run: Any, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)
    outcome = run("trigger", provider, job_id, deadline_in=0.3, sensor_kwargs={"soft_fail": True})
    assert isinstance(outcome.error, AirflowSkipException)
    assert f"{provider} job {job_id} did not finish in time" in outcome.message


@each_api
def test_job_that_never_ends_poke_times_out(sim: SimulatorHandle, run: Any, provider: str) -> None:
    job_id = new_job(sim, provider, {**FOREVER, "outcome": "stuck_queued"})
    outcome = run("poke", provider, job_id, timeout=0.4)
    assert isinstance(outcome.error, AirflowSensorTimeout)
    assert job_stats(sim, job_id)["requests"] >= 3


@each_api
def test_job_that_never_ends_download_refused(sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(outcome, provider, job_id, "has no video to download (status running)", "Wait for the job")


# ----- 404 and 401 mid-wait ----------------------------------------------------------------------


@each_api
def test_404_mid_wait_trigger(sim: SimulatorHandle, run: Any, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)
    with after_first_poll(sim, job_id, lambda: sim.control.delete_job(job_id)):
        outcome = run("trigger", provider, job_id)
    assert outcome.event is not None
    assert outcome.event["outcome"] == "error"
    assert isinstance(outcome.error, JobNotFoundError)
    assert_names(outcome, provider, job_id, "no such job", "HTTP 404", "Check the job id")


@each_api
def test_404_mid_wait_poke(sim: SimulatorHandle, run: Any, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)
    with after_first_poll(sim, job_id, lambda: sim.control.delete_job(job_id)):
        outcome = run("poke", provider, job_id)
    assert isinstance(outcome.error, JobNotFoundError)
    assert_names(outcome, provider, job_id, "no such job", "HTTP 404")
    assert job_stats(sim, job_id)["statuses"]["404"] == 1  # not retried


@each_api
def test_404_download(sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str) -> None:
    job_id = new_job(sim, provider, DONE)
    sim.control.delete_job(job_id)
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, JobNotFoundError)
    assert_names(outcome, provider, job_id, "no such job", "HTTP 404")
    assert files_in(tmp_path) == []


@each_api
@pytest.mark.parametrize("path", ["trigger", "poke"])
def test_401_mid_wait_key_revoked(sim: SimulatorHandle, run: Any, path: str, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)
    with after_first_poll(sim, job_id, lambda: sim.control.revoke_key(provider)):
        outcome = run(path, provider, job_id)
    assert isinstance(outcome.error, AuthenticationError)
    assert_names(outcome, provider, job_id, "the API key was rejected", "HTTP 401", f"connection '{provider}_default'")
    assert job_stats(sim, job_id)["statuses"]["401"] == 1  # not retried


@each_api
def test_401_download(sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str) -> None:
    job_id = new_job(sim, provider, DONE)
    sim.control.revoke_key(provider)
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, AuthenticationError)
    assert_names(outcome, provider, job_id, "the API key was rejected", "HTTP 401")
    assert files_in(tmp_path) == []


# ----- downloads ---------------------------------------------------------------------------------


def _expire_after_each_lookup(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, times: int, provider: str
) -> list[int]:
    """Advance the simulator's clock past the URL lifetime right after the first ``times`` URL lookups."""
    hook = hook_class(provider)
    lookups: list[int] = []
    original = hook.asset_source

    def asset_source(self: Any, job_id: str, variant: str = "video") -> Any:
        source = original(self, job_id, variant)
        lookups.append(1)
        if len(lookups) <= times:
            sim.control.advance_clock(120)
        return source

    monkeypatch.setattr(hook, "asset_source", asset_source)
    return lookups


@pytest.mark.parametrize("provider", STORAGE)
def test_expired_presigned_url_is_fetched_fresh_and_retried_once(
    sim: SimulatorHandle, run: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, provider: str
) -> None:
    job_id = new_job(sim, provider, {**DONE, "url_ttl_s": 60})
    lookups = _expire_after_each_lookup(sim, monkeypatch, 1, provider)
    outcome = run("download", provider, job_id)
    assert_succeeded(outcome, job_id)
    assert len(lookups) == 2
    storage = job_stats(sim, job_id)["endpoints"][asset_get(provider)]["statuses"]
    assert storage == {"403": 1, "200": 1}
    assert files_in(tmp_path / "videos") == [Path(outcome.value["path"]).name]


@pytest.mark.parametrize("provider", STORAGE)
def test_expired_presigned_url_twice_fails_clearly(
    sim: SimulatorHandle, run: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, provider: str
) -> None:
    job_id = new_job(sim, provider, {**DONE, "url_ttl_s": 60})
    lookups = _expire_after_each_lookup(sim, monkeypatch, 2, provider)
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, DownloadError)
    assert outcome.error.expired
    assert_names(
        outcome, provider, job_id, "the file URL has expired or was refused", "HTTP 403", "Request has expired"
    )
    assert len(lookups) == 2  # exactly one fresh URL, not a loop
    assert files_in(tmp_path) == []


@each_api
@pytest.mark.parametrize("mode", ["rst", "fin"])
def test_download_cut_short_leaves_no_file(
    sim: SimulatorHandle, run: Any, tmp_path: Path, provider: str, mode: str
) -> None:
    rule = {"kind": "reset", "reset_after_bytes": 3 * 1024 * 1024, "reset_mode": mode, "endpoint": asset_get(provider)}
    job_id = new_job(sim, provider, {**DONE, "asset_size_bytes": 8 * 1024 * 1024}, faults=[rule])
    outcome = run("download", provider, job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(outcome, provider, job_id, "the download was cut short", "nothing was left under the destination")
    assert files_in(tmp_path) == []  # neither the final name nor the temporary .part file


def test_download_size_differs_from_metadata(sim: SimulatorHandle, run: Any, tmp_path: Path) -> None:
    job_id = new_job(sim, "tensorpix", DONE)
    video = dict(sim.control.job(job_id)["vendor"]["generated_video"])
    real = video["size"]
    video["size"] = real + 1000
    sim.control.add_job_faults(
        job_id, {"kind": "drift", "extra": {"generated_video": video}, "endpoint": job_get("tensorpix")}
    )
    outcome = run("download", "tensorpix", job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(
        outcome, "tensorpix", job_id, f"the API says the video is {real + 1000} bytes but storage sends {real}"
    )
    assert files_in(tmp_path) == []


def test_aihubmix_asset_past_its_expiry_fails_clearly(sim: SimulatorHandle, run: Any, tmp_path: Path) -> None:
    job_id = new_job(sim, "aihubmix", {**DONE, "assets_ttl_s": 60})
    sim.control.advance_clock(120)
    outcome = run("download", "aihubmix", job_id)
    assert isinstance(outcome.error, DownloadError)
    assert_names(outcome, "aihubmix", job_id, "could not be downloaded", "HTTP 404")
    assert files_in(tmp_path) == []


# ----- the connection itself ---------------------------------------------------------------------


@each_api
@pytest.mark.parametrize("path", PATHS)
def test_connection_missing(sim: SimulatorHandle, run: Any, path: str, provider: str) -> None:
    outcome = run(path, provider, contract(provider).facts.sample_id, conn_id="no_such_connection")
    assert outcome.error is not None
    assert "no_such_connection" in outcome.message
    if path == "trigger":
        assert outcome.event is not None
        assert outcome.event["error_type"] == "ConnectionNotFound"
        assert isinstance(outcome.error, VideoJobError)
        assert "triggerer" in outcome.message
    else:
        assert "isn't defined" in outcome.message
