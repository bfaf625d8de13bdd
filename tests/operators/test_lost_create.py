"""A create whose answer was lost never pays twice (issue 22), for every registered API that can create.

Each test is two tries of one task instance sharing one task-state store, against the real simulator:
try 1 sends the create and the simulator commits the job but loses the answer (a fault rule); try 2
must find that job in the API's list and re-attach to it. The paid-job count is the simulator's own.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from _apis import API_NAMES, CONTRACT_APIS
from _create_tries import Try, request_of
from _task_state import MemoryTaskState

from airflow_provider_vidjobs import reattach
from airflow_provider_vidjobs.exceptions import CreateOutcomeUnknownError, VideoJobError
from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

CREATE_APIS = [name for name in API_NAMES if hook_class(name).can_create]
LIST_APIS = [name for name in CREATE_APIS if hook_class(name).can_find_created]

#: Faults that let the create commit and then lose its answer (kinds the simulator applies after its handler).
LOST_ANSWERS: dict[str, dict[str, Any]] = {
    "reset after some body bytes": {"kind": "reset", "reset_after_bytes": 10},
    "reset right after the headers": {"kind": "reset", "reset_after_bytes": 0},
    "clean close mid-body": {"kind": "reset", "reset_after_bytes": 10, "reset_mode": "fin"},
    "200 with truncated JSON": {"kind": "truncated_json"},
    "200 without id": {"kind": "drift", "remove": ["id"]},
    "proxy 502 after the job was made": {"kind": "http_error", "status": 502, "after_commit": True},
    "proxy 504 after the job was made": {"kind": "http_error", "status": 504, "after_commit": True},
    "RST with nothing sent": {"kind": "drop"},
    "no answer until the client times out": {"kind": "drop", "delay_s": 600},
}
#: Scenarios whose client must give up first: the connection's read timeout is cut to 1 s for them.
NEEDS_SHORT_TIMEOUT = {"no answer until the client times out"}


def paid(sim: SimulatorHandle) -> int:
    return int(sim.control.stats()["creates"]["total"])


def created_ids(sim: SimulatorHandle, api: str) -> list[str]:
    return [job["id"] for job in sim.control.jobs(api)]


def lose_next_create(sim: SimulatorHandle, api: str, fault: dict[str, Any]) -> None:
    sim.control.add_faults({**fault, "api": api, "method": "POST", "count": 1})


def short_timeout(monkeypatch: pytest.MonkeyPatch, sim: SimulatorHandle, api: str) -> None:
    name = f"AIRFLOW_CONN_{api.upper()}_DEFAULT"
    conn = json.loads(sim.airflow_connections()[name])
    monkeypatch.setenv(name, json.dumps({**conn, "extra": {"timeout": 1}}))


@pytest.mark.parametrize("scenario", list(LOST_ANSWERS))
@pytest.mark.parametrize("api", LIST_APIS)
def test_a_lost_create_answer_is_found_and_re_attached(
    sim: SimulatorHandle, api: str, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = MemoryTaskState()
    if scenario in NEEDS_SHORT_TIMEOUT:
        short_timeout(monkeypatch, sim, api)
    lose_next_create(sim, api, LOST_ANSWERS[scenario])
    with pytest.raises(CreateOutcomeUnknownError) as caught:
        Try(api, state).run()
    assert paid(sim) == 1, "the simulator committed the job before losing the answer"
    message = str(caught.value)
    assert "may have reached" in message
    assert "not sent again" in message
    assert "looks for that job" in message
    assert "retried" not in message

    second = Try(api, state)
    job_id = second.run()
    assert paid(sim) == 1
    assert [job_id] == created_ids(sim, api)
    assert "found the job it made" in second.log.text("info")
    # The record now names the job: a third try re-attaches without the list (which now fails).
    list_endpoint = CONTRACT_APIS[api].facts.list_endpoint
    sim.control.add_faults({"kind": "http_error", "status": 500, "api": api, "endpoint": list_endpoint})
    assert Try(api, state).run() == job_id
    assert paid(sim) == 1


@pytest.mark.parametrize("api", LIST_APIS)
def test_two_lost_answers_in_a_row_still_pay_once(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    lose_next_create(sim, api, LOST_ANSWERS["reset after some body bytes"])
    with pytest.raises(CreateOutcomeUnknownError):
        Try(api, state).run()
    # Try 2 finds the job; were it to create, the fault would lose that answer too.
    lose_next_create(sim, api, LOST_ANSWERS["200 with truncated JSON"])
    Try(api, state).run()
    assert paid(sim) == 1


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_create_that_made_no_job_is_sent_once_the_list_shows_none(sim: SimulatorHandle, api: str) -> None:
    """A 503 before the vendor acted: the intent stays, the list is empty, the next try creates (one job)."""
    state = MemoryTaskState()
    sim.control.add_faults({"kind": "http_error", "status": 503, "api": api, "method": "POST", "count": 1})
    with pytest.raises(CreateOutcomeUnknownError):
        Try(api, state).run()
    assert paid(sim) == 0
    second = Try(api, state)
    second.run()
    assert paid(sim) == 1
    assert "never made one: creating a new job" in second.log.text("info")


@pytest.mark.parametrize("api", LIST_APIS)
def test_several_matches_re_attach_the_earliest_and_warn_with_the_ids(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    hook = hook_class(api)()
    first = hook.create_job(request_of(api)).job_id
    time.sleep(1.1)  # created_at has whole seconds: the second job is strictly later
    later = hook.create_job(request_of(api)).job_id
    probe = Try(api, state)
    state.set(reattach.STATE_KEY, reattach.new_record(probe.memory.fingerprint, api, None).to_json())
    second = Try(api, state)
    assert second.run() == first
    assert paid(sim) == 2
    warning = second.log.text("warning")
    assert first in warning
    assert later in warning
    assert "re-attaching to the earliest" in warning


@pytest.mark.parametrize("api", LIST_APIS)
def test_jobs_of_another_request_or_outside_the_window_are_not_taken(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    hook = hook_class(api)()
    other = request_of(api)
    if "prompt" in other:
        other["prompt"] = "a different prompt"
    else:
        other["input"] = {**other["input"], "prompt": "a different prompt"}
    hook.create_job(other)
    probe = Try(api, state)
    # An intent written an hour ago: the job just made with the SAME request is outside its window.
    stale = reattach.ReattachRecord(fingerprint=probe.memory.fingerprint, provider=api, written_at=time.time() - 3600)
    hook.create_job(request_of(api))
    state.set(reattach.STATE_KEY, stale.to_json())
    second = Try(api, state)
    new_id = second.run()
    assert paid(sim) == 3
    assert new_id in created_ids(sim, api)
    assert "never made one" in second.log.text("info")


def list_unavailable(sim: SimulatorHandle, api: str, status: int) -> None:
    """A gateway without the list route: the simulator answers it with the API's own 404 or 405."""
    endpoint = CONTRACT_APIS[api].facts.list_endpoint
    assert endpoint is not None
    sim.control.disable_endpoints(endpoint, status=status)


@pytest.mark.parametrize("status", [404, 405])
@pytest.mark.parametrize("api", LIST_APIS)
def test_a_gateway_without_the_list_fails_the_try_by_default(sim: SimulatorHandle, api: str, status: int) -> None:
    state = MemoryTaskState()
    lose_next_create(sim, api, LOST_ANSWERS["reset after some body bytes"])
    with pytest.raises(CreateOutcomeUnknownError):
        Try(api, state).run()
    list_unavailable(sim, api, status)
    with pytest.raises(VideoJobError) as caught:
        Try(api, state).run()
    message = str(caught.value)
    assert "between" in message
    assert "UTC" in message
    assert 'on_orphaned_intent="create"' in message
    console = hook_class(api).api_spec.console_url or "web console"  # type: ignore[union-attr]
    assert console in message
    assert paid(sim) == 1
    # The user's choice: create anyway (and pay twice, since the first request did make a job).
    Try(api, state, on_orphaned_intent="create").run()
    assert paid(sim) == 2


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_list_that_fails_for_now_fails_the_try_without_creating(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    lose_next_create(sim, api, LOST_ANSWERS["reset after some body bytes"])
    with pytest.raises(CreateOutcomeUnknownError):
        Try(api, state).run()
    endpoint = CONTRACT_APIS[api].facts.list_endpoint
    sim.control.add_faults({"kind": "http_error", "status": 500, "api": api, "endpoint": endpoint})
    with pytest.raises(VideoJobError, match="looking for that job failed"):
        Try(api, state, on_orphaned_intent="create").run()
    assert paid(sim) == 1


@pytest.mark.parametrize("api", CREATE_APIS)
def test_a_recorded_job_answering_one_404_is_read_again_not_paid_for_again(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    first = Try(api, state).run()
    job_endpoint = CONTRACT_APIS[api].job_endpoint
    sim.control.add_faults({"kind": "http_error", "status": 404, "api": api, "endpoint": job_endpoint, "count": 1})
    second = Try(api, state)
    assert second.run() == first
    assert paid(sim) == 1
    assert "re-attaching to" in second.log.text("info")


@pytest.mark.parametrize("api", CREATE_APIS)
def test_a_recorded_job_gone_for_good_is_created_anew(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    first = Try(api, state).run()
    sim.control.delete_job(first)
    second = Try(api, state)
    assert second.run() != first
    assert paid(sim) == 2
    assert "is gone at the API (404 twice" in second.log.text("warning")


def test_an_unknown_orphan_policy_is_refused_at_parse_time() -> None:
    with pytest.raises(ValueError, match='on_orphaned_intent must be "fail" or "create"'):
        reattach.check_orphan_policy("retry")
