"""VideoJobTrigger against the simulator over real HTTP: outcomes, faults, polling cadence, pooling, cancel.

Triggers are driven the way the triggerer drives them: ``run()`` is an async generator; the test takes
its first event and then checks that the generator ends. The connection is looked up through Airflow's
async API, which reads the ``AIRFLOW_CONN_*`` variables set by the ``sim`` fixture.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog

try:
    from airflow.sdk.serde import deserialize, serialize
except ImportError:  # Airflow < 3.2 keeps serde in core
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef]

from _apis import API_NAMES, contract_api

from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.http import clients
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.polling import PollPolicy
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger
from airflow_provider_vidjobs.waiting import build_trigger

#: Every registered API (tests/_apis.py).
PROVIDERS = API_NAMES
#: A fixed, quick cadence: every delay is exactly ``min_interval``.
FIXED = {"min_interval": 0.05, "adaptive": False, "jitter": 0.0}
QUICK = {"queued_s": 0.1, "running_s": 0.3}
DONE = {"queued_s": 0, "running_s": 0}
FOREVER = {"queued_s": 0, "running_s": 0.2, "outcome": "stuck"}


# ----- helpers -----------------------------------------------------------------------------------


def new_job(sim: SimulatorHandle, provider: str, timeline: dict[str, Any], **fields: Any) -> str:
    """A simulated job with the API's test-job fields (AIHubMix ids with ``/``, ``+`` and ``=`` in them, as
    real ones may have)."""
    fields = {**contract_api(provider).job_fields, **fields}
    return str(sim.control.create_job(provider, sim=timeline, **fields)["id"])


#: No wait in these tests should come near this; a broken trigger ends with "timeout" instead of hanging.
SAFETY_DEADLINE_S = 20.0


def make_trigger(provider: str, job_id: str, *, policy: dict[str, Any] | None = None, **kwargs: Any) -> VideoJobTrigger:
    kwargs.setdefault("conn_id", f"{provider}_default")
    kwargs.setdefault("deadline", time.time() + SAFETY_DEADLINE_S)
    return VideoJobTrigger(provider=provider, job_id=job_id, poll_policy={**FIXED, **(policy or {})}, **kwargs)


async def first_event(trigger: VideoJobTrigger) -> dict[str, Any]:
    """Drive ``run()`` like the triggerer: the first event is the result, and the generator must then end."""
    events = trigger.run()
    event = await anext(events)
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    payload: dict[str, Any] = event.payload
    return payload


def run_trigger(trigger: VideoJobTrigger) -> tuple[dict[str, Any], float]:
    """Run one trigger in a fresh event loop; returns its event and how long it took.

    Also checks that the pooled client the trigger used was closed when it ended.
    """

    async def alone() -> dict[str, Any]:
        payload = await first_event(trigger)
        assert clients.CLIENT_POOL.open_clients() == 0
        return payload

    started = time.monotonic()
    payload = asyncio.run(alone())
    return payload, time.monotonic() - started


async def timed(trigger: VideoJobTrigger) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    payload = await first_event(trigger)
    return payload, time.monotonic() - started


def job_counter(sim: SimulatorHandle, job_id: str) -> dict[str, Any]:
    """The simulator's request counter for one job (requests and statuses)."""
    counter: dict[str, Any] = sim.control.stats()["jobs"].get(job_id, {"requests": 0, "statuses": {}})
    return counter


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Await until ``check()`` (run in a thread: it may call the control API) is truthy."""
    deadline = time.monotonic() + within
    while True:
        result = await asyncio.to_thread(check)
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@dataclass
class Logs:
    """What the trigger and the hook logged: structlog events (Airflow's loggers) and stdlib records."""

    events: list[dict[str, Any]]
    caplog: pytest.LogCaptureFixture

    def lines(self, *levels: str) -> list[str]:
        wanted = {level.lower() for level in levels}
        found = [str(e["event"]) for e in self.events if not wanted or e.get("log_level") in wanted]
        found += [
            r.getMessage()
            for r in self.caplog.records
            if not r.name.startswith("uvicorn") and (not wanted or r.levelname.lower() in wanted)
        ]
        return found

    def problems(self) -> list[str]:
        return self.lines("warning", "error", "critical", "exception")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Logs]:
    caplog.set_level(logging.INFO)
    with structlog.testing.capture_logs() as events:
        yield Logs(events, caplog)


@pytest.fixture(scope="module", autouse=True)
def _tls_context_loaded() -> None:
    """Load the CA bundle once up front, so the first trigger's timing is not blurred by it."""
    clients.tls_context(True, None)


# ----- serialization -----------------------------------------------------------------------------


def test_serialize_round_trip_rebuilds_the_same_trigger() -> None:
    trigger = VideoJobTrigger(
        provider="aihubmix",
        conn_id="video_api",
        job_id="kQcH/NC02E+X5i0CG82LQ==",
        poll_policy=PollPolicy(
            min_interval=2, max_interval=30, adaptive=False, jitter=0.2, failure_budget=120
        ).to_dict(),
        deadline=1_900_000_000.25,
        status_overrides={"Exported": "succeeded"},
        first_poll_delay=2.0,
    )
    classpath, kwargs = trigger.serialize()

    module, _, name = classpath.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert cls is VideoJobTrigger
    assert cls(**kwargs).serialize() == (classpath, kwargs)
    # JSON-native: plain json survives, and so does the triggerer's own encoding.
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert deserialize(serialize(kwargs)) == kwargs
    assert kwargs["poll_policy"]["min_interval"] == 2
    assert kwargs["status_overrides"] == {"Exported": "succeeded"}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("which_key", ["simulator-key", "canary-key"])
def test_kwargs_and_event_never_hold_the_key(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, canary_key: str, provider: str, which_key: str
) -> None:
    key = sim.key(provider)
    if which_key == "canary-key":
        key = canary_key
        sim.control.set_keys(**{provider: [canary_key]})
        conn = {"conn_type": provider, "host": sim.url, "password": canary_key}
        monkeypatch.setenv(f"AIRFLOW_CONN_{contract_api(provider).conn_id.upper()}", json.dumps(conn))
    job_id = new_job(sim, provider, QUICK)
    hook = hook_class(provider)(f"{provider}_default")
    hook.get_job(job_id)  # the hook has read the connection, key included, as an operator's has
    hook.close()
    trigger = build_trigger(
        hook,
        job_id,
        poll_policy=PollPolicy(**FIXED),
        timeout=30,
        status_overrides={"exported": "succeeded"},
    )

    payload, _ = run_trigger(trigger)

    assert payload["outcome"] == "succeeded"  # the key worked
    _, kwargs = trigger.serialize()  # after the run, too: the trigger has read the connection itself
    for text in (json.dumps(kwargs), json.dumps(serialize(kwargs)), json.dumps(payload), repr(trigger)):
        assert key not in text


# ----- outcomes ----------------------------------------------------------------------------------

FAILED = {
    **QUICK,
    "outcome": "failed",
    "error_code": "content_policy_violation",
    "error_message": "The prompt asks for something the model will not draw (simulated).",
}


@pytest.mark.parametrize(
    ("provider", "timeline", "faults", "outcome"),
    [
        *(pytest.param(p, QUICK, [], "succeeded", id=f"{p}-succeeded") for p in PROVIDERS),
        *(pytest.param(p, FAILED, [], "failed", id=f"{p}-failed") for p in PROVIDERS),
        # TensorPix's status strings are configurable: its failed phase spelled "cancelled".
        pytest.param(
            "tensorpix",
            {**QUICK, "outcome": "failed", "statuses": {"failed": "cancelled"}},
            [],
            "cancelled",
            id="tensorpix-cancelled",
        ),
        # AIHubMix documents no cancelled status; a gateway that sends one is taken at its word.
        pytest.param(
            "aihubmix",
            FOREVER,
            [{"kind": "unknown_status", "value": "cancelled", "skip": 1}],
            "cancelled",
            id="aihubmix-cancelled",
        ),
    ],
)
def test_runs_to_each_outcome(
    sim: SimulatorHandle, provider: str, timeline: dict[str, Any], faults: list[dict[str, Any]], outcome: str
) -> None:
    job_id = new_job(sim, provider, timeline, faults=faults or None)

    payload, _ = run_trigger(make_trigger(provider, job_id))

    view = sim.control.job(job_id)
    assert payload["outcome"] == outcome
    assert (payload["provider"], payload["job_id"], payload["error_type"]) == (provider, job_id, None)
    assert json.loads(json.dumps(payload)) == payload
    job = VideoJob.from_xcom(payload["job"])
    assert job.status is JobStatus(outcome)
    assert job.vendor_status == (faults[0]["value"] if faults else view["vendor"]["status"])
    assert job.prompt == contract_api(provider).vendor_prompt(view["vendor"])
    if outcome == "succeeded":
        assert view["phase"] == "completed"
        assert job.video is not None
        assert job.video.url
        if provider == "tensorpix":
            assert job.video.size_bytes == view["vendor"]["generated_video"]["size"]
            assert job.video.url.split("?")[0] == view["vendor"]["generated_video"]["file"].split("?")[0]
    if contract_api(provider).facts.reports_error and outcome == "failed":
        code, message = view["vendor"]["error"]["code"], view["vendor"]["error"]["message"]
        assert (code, message) == (FAILED["error_code"], FAILED["error_message"])
        assert job.error is not None
        assert (job.error.code, job.error.message) == (code, message)
        assert code in payload["message"]
        assert message in payload["message"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deadline_ends_the_wait_with_timeout(sim: SimulatorHandle, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)
    # Polls at 0 s and 0.8 s; an uncut sleep would poll next at 1.6 s, the deadline is at 1.0 s.
    interval, allowed = 0.8, 1.0
    trigger = make_trigger(provider, job_id, policy={"min_interval": interval}, deadline=time.time() + allowed)

    payload, elapsed = run_trigger(trigger)

    assert payload["outcome"] == "timeout"
    assert "deadline" in payload["message"]
    assert VideoJob.from_xcom(payload["job"]).status is JobStatus.RUNNING  # what it last saw
    # Not before the deadline, and well before the next poll: the last sleep is cut to the deadline.
    assert allowed - 0.05 <= elapsed < allowed + interval / 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deadline_also_ends_a_wait_through_an_outage(sim: SimulatorHandle, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER, faults=[{"kind": "http_error", "status": 503}])
    allowed = 0.8
    trigger = make_trigger(provider, job_id, policy={"failure_budget": 600}, deadline=time.time() + allowed)

    payload, elapsed = run_trigger(trigger)

    assert payload["outcome"] == "timeout"
    assert allowed - 0.05 <= elapsed < allowed + 0.5
    assert set(job_counter(sim, job_id)["statuses"]) == {"503"}


# ----- permanent errors end the wait at once -------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rejected_key_ends_at_once_with_error(sim: SimulatorHandle, provider: str, logs: Logs) -> None:
    job_id = new_job(sim, provider, FOREVER)
    sim.control.revoke_key(provider)

    payload, _ = run_trigger(make_trigger(provider, job_id))

    assert payload["outcome"] == "error"
    assert payload["error_type"] == "AuthenticationError"
    assert "HTTP 401" in payload["message"]
    assert job_counter(sim, job_id)["statuses"] == {"401": 1}  # one request, no retry
    key = sim.key(provider)
    assert key not in json.dumps(payload)
    assert not any(key in line for line in logs.lines())


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unknown_job_ends_at_once_with_error(sim: SimulatorHandle, provider: str) -> None:
    job_id = contract_api(provider).facts.sample_id  # well-formed, and no such job after the reset

    payload, _ = run_trigger(make_trigger(provider, job_id))

    assert payload["outcome"] == "error"
    assert payload["error_type"] == "JobNotFoundError"
    assert "HTTP 404" in payload["message"]
    assert job_counter(sim, job_id)["statuses"] == {"404": 1}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_connection_ends_with_error_and_no_request(sim: SimulatorHandle, provider: str) -> None:
    job_id = new_job(sim, provider, FOREVER)

    payload, _ = run_trigger(make_trigger(provider, job_id, conn_id="vidjobs_no_such_connection"))

    assert payload["outcome"] == "error"
    assert payload["error_type"] == "ConnectionNotFound"
    assert "vidjobs_no_such_connection" in payload["message"]
    assert sim.control.stats()["requests_total"] == 0


# ----- transient failures --------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_survives_a_burst_of_5xx_and_logs_the_streak_once(sim: SimulatorHandle, logs: Logs, provider: str) -> None:
    job_id = new_job(sim, provider, DONE)
    sim.control.add_job_faults(
        job_id, {"kind": "http_error", "status": 503, "count": 3}, {"kind": "http_error", "status": 502, "count": 1}
    )

    payload, _ = run_trigger(make_trigger(provider, job_id))

    assert payload["outcome"] == "succeeded"
    assert job_counter(sim, job_id)["statuses"] == {"200": 1, "502": 1, "503": 3}
    streak = [line for line in logs.lines("warning") if "will keep trying" in line]
    assert len(streak) == 1, logs.problems()
    assert logs.problems() == streak  # nothing else worried about, and not one line per failed poll
    assert len([line for line in logs.lines("info") if "answering again after 4 failed polls" in line]) == 1


@pytest.mark.parametrize(
    ("hint", "wait"),
    [
        pytest.param({"retry_after": 1}, 1.0, id="Retry-After"),
        pytest.param({"retry_after_format": "none", "retry_after_ms": 700}, 0.7, id="retry-after-ms"),
    ],
)
def test_429_waits_as_long_as_the_server_asks(sim: SimulatorHandle, hint: dict[str, Any], wait: float) -> None:
    job_id = new_job(sim, "aihubmix", DONE, faults=[{"kind": "http_error", "status": 429, "count": 1, **hint}])

    payload, elapsed = run_trigger(make_trigger("aihubmix", job_id))

    assert payload["outcome"] == "succeeded"
    assert job_counter(sim, job_id)["statuses"] == {"200": 1, "429": 1}
    # The policy alone would have retried after min_interval (0.05 s).
    assert elapsed >= wait


def test_failure_budget_spent_ends_with_error(sim: SimulatorHandle, logs: Logs) -> None:
    job_id = new_job(sim, "tensorpix", FOREVER, faults=[{"kind": "http_error", "status": 503}])
    budget = 0.6

    payload, elapsed = run_trigger(make_trigger("tensorpix", job_id, policy={"failure_budget": budget}))

    assert payload["outcome"] == "error"
    assert payload["error_type"] == "APIUnavailableError"
    polls = job_counter(sim, job_id)["statuses"]["503"]
    assert f"gave up after {polls} failed polls" in payload["message"]
    assert polls >= 2
    assert elapsed >= budget
    # The streak's first failure is logged, not each one (the task reports the error the event carries).
    assert len(logs.problems()) == 1
    assert "will keep trying" in logs.problems()[0]


# ----- how often it polls --------------------------------------------------------------------------


def test_wake_ups_are_due_on_a_shared_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waits due within one grid step wake at the same boundary (one turn of the loop serves them all),
    never sooner than asked and at most one step later.

    The loop's clock is frozen at each asking time and the sleep only recorded, so the figures are exact
    whatever else the machine is doing (with the real clock a preemption between two readings of it
    moved the end off the grid).
    """
    from airflow_provider_vidjobs import polling

    grid = polling.WAKE_GRID_S
    clock = 0.0
    ends: list[float] = []

    class FrozenLoop:
        def time(self) -> float:
            return clock

    async def recording_sleep(seconds: float) -> None:
        ends.append(clock + seconds)

    monkeypatch.setattr(polling.asyncio, "get_running_loop", FrozenLoop)
    monkeypatch.setattr(polling.asyncio, "sleep", recording_sleep)

    def due(now: float, delay: float) -> float:
        nonlocal clock
        clock = now
        with pytest.raises(StopIteration):  # recording_sleep never suspends: no event loop needed
            polling._sleep_on_grid(delay).send(None)
        return ends[-1]

    for now, delay in [(0.0, 0.001), (1234.5678, 0.3), (7.003, 9.987), (50.0, 10.0), (3.1415, 10.013), (0.5, 61.5)]:
        end = due(now, delay)
        assert now + delay <= end + 1e-9
        assert end < now + delay + grid + 1e-9
        assert abs(end / grid - round(end / grid)) < 1e-6  # on a grid boundary
    # Two waits asked 8 ms apart for the same delay wake together.
    assert due(100.001, 5.0) == pytest.approx(due(100.009, 5.0), abs=1e-9)


def test_request_count_follows_a_fixed_policy(sim: SimulatorHandle) -> None:
    """With ``adaptive=False`` and ``jitter=0`` every sleep is exactly ``min_interval``.

    So the ``n`` polls of a wait that took ``elapsed`` seconds hold ``n - 1`` sleeps: ``n - 1`` can
    never exceed ``elapsed / interval``; and as a loopback request takes less time than one
    interval, ``n - 1`` is at least ``elapsed / (2 * interval)``.
    """
    runs_for = 2.5
    intervals = (0.25, 0.5)
    jobs = [new_job(sim, "tensorpix", {"queued_s": 0, "running_s": runs_for}) for _ in intervals]
    triggers = [
        make_trigger("tensorpix", job_id, policy={"min_interval": interval})
        for job_id, interval in zip(jobs, intervals, strict=True)
    ]

    async def together() -> list[tuple[dict[str, Any], float]]:
        return list(await asyncio.gather(*(timed(trigger) for trigger in triggers)))

    results = asyncio.run(together())

    counts = []
    for (payload, elapsed), interval, job_id in zip(results, intervals, jobs, strict=True):
        assert payload["outcome"] == "succeeded"
        polls = job_counter(sim, job_id)["requests"]
        counts.append(polls)
        assert math.floor(elapsed / (2 * interval)) <= polls - 1 <= elapsed / interval, (polls, elapsed)
    assert counts[0] > counts[1]


def test_poll_after_hint_is_followed(sim: SimulatorHandle) -> None:
    """``openai-poll-after-ms`` stretches the cadence: the same bounds as above, with the hint as the interval."""
    runs_for = 2.4
    hints_ms = (200, 800)
    jobs = [new_job(sim, "aihubmix", {"queued_s": 0, "running_s": runs_for, "poll_after_ms": ms}) for ms in hints_ms]
    # min_interval alone (0.05 s) would poll ~50 times.
    triggers = [make_trigger("aihubmix", job_id) for job_id in jobs]

    async def together() -> list[tuple[dict[str, Any], float]]:
        return list(await asyncio.gather(*(timed(trigger) for trigger in triggers)))

    results = asyncio.run(together())

    counts = []
    for (payload, elapsed), ms, job_id in zip(results, hints_ms, jobs, strict=True):
        assert payload["outcome"] == "succeeded"
        polls = job_counter(sim, job_id)["requests"]
        counts.append(polls)
        hint = ms / 1000
        assert math.floor(elapsed / (2 * hint)) <= polls - 1 <= elapsed / hint, (polls, elapsed)
    assert counts[0] > counts[1]


# ----- many triggers, one loop ---------------------------------------------------------------------


def test_many_triggers_in_one_loop_share_a_few_connections(sim: SimulatorHandle) -> None:
    count = 200
    sim.control.set_config(timeline={"queued_s": 1.0, "running_s": 1.0})
    jobs = [str(sim.control.create_job("tensorpix")["id"]) for _ in range(count)]
    sim.control.reset_stats()
    triggers = [make_trigger("tensorpix", job_id, policy={"min_interval": 0.3, "jitter": 0.2}) for job_id in jobs]

    async def together() -> tuple[list[dict[str, Any]], int]:
        payloads = await asyncio.gather(*(first_event(trigger) for trigger in triggers))
        return list(payloads), clients.CLIENT_POOL.open_clients()

    payloads, open_after = asyncio.run(together())

    assert [p["outcome"] for p in payloads] == ["succeeded"] * count
    stats = sim.control.stats()
    assert sum(stats["jobs"][job_id]["requests"] for job_id in jobs) >= count
    assert 1 <= stats["connections"]["api_accepted"] <= clients.POOL_SIZE
    assert open_after == 0  # the shared client closed with the last trigger


# ----- cancellation --------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["sleeping", "mid-request"])
def test_cancelled_trigger_stops_quietly_and_closes_its_client(sim: SimulatorHandle, logs: Logs, when: str) -> None:
    job_id = new_job(sim, "tensorpix", FOREVER)
    interval, stall = 0.5, 0.0
    if when == "mid-request":
        interval, stall = 0.1, 1.0
        sim.control.add_job_faults(job_id, {"kind": "latency", "delay_s": stall, "skip": 1})  # the 2nd poll hangs
    trigger = make_trigger("tensorpix", job_id, policy={"min_interval": interval})

    async def scenario() -> tuple[int, int, int]:
        task = asyncio.create_task(first_event(trigger))
        if when == "sleeping":
            await eventually(lambda: job_counter(sim, job_id)["requests"] >= 1)
            await asyncio.sleep(interval / 4)
        else:
            await eventually(lambda: sim.control.job(job_id)["faults"][0]["fired"])
        assert clients.CLIENT_POOL.open_clients() == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        open_after = clients.CLIENT_POOL.open_clients()
        await asyncio.sleep(0.1)  # shorter than the stall: anything answered by now was sent before the cancel
        at_cancel = job_counter(sim, job_id)["requests"]
        await asyncio.sleep(stall + 3 * interval)  # long enough for the stalled answer, and for more polls
        return open_after, at_cancel, job_counter(sim, job_id)["requests"]

    open_after, at_cancel, later = asyncio.run(scenario())

    assert open_after == 0
    # Nothing was sent after the cancel; mid-request, the stalled request still gets its (unread) answer.
    assert later == at_cancel + (1 if when == "mid-request" else 0)
    assert at_cancel >= 1
    assert logs.problems() == []


# ----- the triggerer's greenback portal ------------------------------------------------------------


def test_the_supervisor_learns_the_key_although_the_polls_have_no_portal(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the triggerer, masking a secret also tells the supervisor. Its blocking ``send`` cannot run on
    the event loop without a greenback portal (it fails silently inside ``mask_secret``), and the lookup
    runs in a task without one (shared by the waits starting together), as do the polls: the key must be
    masked through the async route, and every poll still happen."""
    import greenback
    from airflow.sdk.execution_time import task_runner
    from asgiref.sync import async_to_sync

    class TriggererComms:
        """Like the triggerer's comms: ``send`` blocks on ``asend``, which the event loop's thread cannot."""

        def __init__(self) -> None:
            self.sent: list[Any] = []

        async def asend(self, msg: Any) -> None:
            self.sent.append(msg)

        def send(self, msg: Any) -> None:
            async_to_sync(self.asend)(msg)  # raises on the event loop's thread

    comms = TriggererComms()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)
    # A key pasted with spaces around it: Airflow masks the password as typed, the provider the key it sends.
    name = "AIRFLOW_CONN_TENSORPIX_DEFAULT"
    conn = json.loads(sim.airflow_connections()[name])
    key = conn["password"]
    monkeypatch.setenv(name, json.dumps({**conn, "password": f"  {key}  "}))
    # Long enough that a slow start (a busy machine) still finds it running: the polls are under test too.
    job_id = new_job(sim, "tensorpix", {"queued_s": 0.5, "running_s": 1.5})
    trigger = make_trigger("tensorpix", job_id)

    async def like_the_triggerer() -> dict[str, Any]:
        await greenback.ensure_portal()
        return await first_event(trigger)

    payload = asyncio.run(like_the_triggerer())

    assert payload["outcome"] == "succeeded", payload
    assert key in [getattr(msg, "value", None) for msg in comms.sent]
    assert job_counter(sim, job_id)["requests"] >= 3  # polled until done


# ----- progress lines ------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_progress_is_logged_at_each_status_and_10_percent_step_only(
    sim: SimulatorHandle, logs: Logs, monkeypatch: pytest.MonkeyPatch, interval: float
) -> None:
    """A line per status change; a line per 10% step only once PROGRESS_LOG_INTERVAL_S has passed."""
    monkeypatch.setattr("airflow_provider_vidjobs.polling.PROGRESS_LOG_INTERVAL_S", interval)
    job_id = new_job(sim, "tensorpix", {"queued_s": 0, "running_s": 0, "outcome": "stuck", "stuck_progress": 45})
    trigger = make_trigger("tensorpix", job_id, policy={"min_interval": 0.1})

    async def after_three_polls() -> None:
        seen = job_counter(sim, job_id)["requests"]
        await eventually(lambda: job_counter(sim, job_id)["requests"] >= seen + 3)

    async def scenario() -> dict[str, Any]:
        task = asyncio.create_task(first_event(trigger))
        for progress in (48, 60):  # 45 -> 48 stays in the same tenth: no new line
            await after_three_polls()
            await asyncio.to_thread(sim.control.update_job, job_id, stuck_progress=progress)
        await after_three_polls()
        await asyncio.to_thread(sim.control.update_job, job_id, outcome="completed")
        return await task

    payload = asyncio.run(scenario())

    assert payload["outcome"] == "succeeded"
    assert job_counter(sim, job_id)["requests"] >= 10
    progress = [line for line in logs.lines("info") if f"job {job_id}: " in line and "%" in line]
    expected = [": running 45%", ": running 60%", ": succeeded 100%"]
    if interval > 0:
        expected.remove(": running 60%")  # the step came sooner than the interval after the last line
    assert len(progress) == len(expected), progress
    for line, text in zip(progress, expected, strict=True):
        assert text in line
