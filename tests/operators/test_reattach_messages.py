"""What re-attach tells a person at each decision, line for line, and the edges the lost-create tests leave:
a recorded job that answers 404 twice yet is in the list, a record that cannot be written, Variable records
as the Task SDK stores them, and the task-instance identity those records are keyed by.

A person reads these lines to know whether a video was paid for twice, so each names the API, the job and
the window, and the tests pin the whole line.
"""

from __future__ import annotations

import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from _apis import API_NAMES, CONTRACT_APIS
from _create_tries import Try
from _task_state import MemoryTaskState

from airflow_provider_vidjobs import reattach
from airflow_provider_vidjobs.exceptions import VideoJobError
from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

#: ``fingerprint`` of the fields in the fingerprint test, as 0.1.0 computed it (records in task state and
#: Variables hold it: a change here would make every retry after an upgrade pay again).
GOLDEN_FINGERPRINT = "9d2f86f3052f1451acffba396847c6469c6b0d64267c8dfc443b0f4b00b01841"
GOLDEN_REQUEST_FINGERPRINT = "b2ee50326dc4193ead326213020d6d082bf40ea247878d154fe5ba4726e9aa95"
LIST_APIS = [name for name in API_NAMES if hook_class(name).can_create and hook_class(name).can_find_created]


def paid(sim: SimulatorHandle) -> int:
    return int(sim.control.stats()["creates"]["total"])


def window_of(attempt: Try, state: MemoryTaskState) -> str:
    record = reattach.ReattachRecord.from_json(state.get(reattach.STATE_KEY))
    assert record is not None
    since, until = attempt.memory.intent_window(record)
    return f"between {since:%Y-%m-%d %H:%M:%S} and {until:%H:%M:%S} UTC"


def orphaned(state: MemoryTaskState, api: str, written_at: float | None = None) -> None:
    """The record an earlier try left when it died between its POST and recording the id."""
    fingerprint = Try(api, state).memory.fingerprint
    record = reattach.ReattachRecord(fingerprint, api, None, time.time() if written_at is None else written_at)
    state.set(reattach.STATE_KEY, record.to_json())


def lines(attempt: Try, level: str) -> list[str]:
    return [line for lvl, line in attempt.log.lines if lvl == level]


# ----- a recorded job ---------------------------------------------------------------------------------


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_recorded_job_answering_404_twice_but_listed_is_re_attached(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    first = Try(api, state).run()
    endpoint = CONTRACT_APIS[api].job_endpoint
    sim.control.add_faults({"kind": "http_error", "status": 404, "api": api, "endpoint": endpoint, "count": 2})
    second = Try(api, state)
    assert second.run() == first
    assert paid(sim) == 1
    assert lines(second, "warning") == [
        f"{api} job {first}, created by an earlier try, answered 404 twice but is in the API's job list: "
        "re-attaching to it"
    ]


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_recorded_job_gone_for_good_says_how_that_was_established(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    first = Try(api, state).run()
    sim.control.delete_job(first)
    second = Try(api, state)
    second.run()
    assert lines(second, "warning")[0] == (
        f"{api} job {first}, created by an earlier try, is gone at the API (404 twice, 5 s apart, and not in its "
        "job list): creating a new job"
    )


# ----- an intent without a job id ---------------------------------------------------------------------


@pytest.mark.parametrize("api", LIST_APIS)
def test_the_lines_of_a_lost_create_found_or_not(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    orphaned(state, api)
    none_found = Try(api, state)
    window = window_of(none_found, state)
    made = none_found.run()
    assert lines(none_found, "info")[0] == (
        f"an earlier try sent a create request {window} and stopped before reading its answer; {api}'s job list "
        "has no job with this request's fields from then, so the request never made one: creating a new job"
    )
    orphaned(state, api)
    found = Try(api, state)
    window = window_of(found, state)
    assert found.run() == made
    assert lines(found, "info") == [
        f"an earlier try sent a create request {window} and stopped before reading its answer; found the job it "
        f"made in {api}'s job list: {made}",
        f"re-attaching to {api} job {made} (queued), created by an earlier try of this task for the same request: "
        "no new job is created",
    ]


@pytest.mark.parametrize("api", LIST_APIS)
def test_several_found_names_every_id_and_the_one_chosen(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    hook = hook_class(api)()
    first = Try(api, state).run()
    time.sleep(1.1)
    later = hook.create_job(Try(api, state).request).job_id
    orphaned(state, api, written_at=time.time() - 2)
    attempt = Try(api, state)
    window = window_of(attempt, state)
    assert attempt.run() == first
    assert lines(attempt, "warning") == [
        f"an earlier try sent a create request {window} and stopped before reading its answer; {api}'s job list "
        f"has 2 jobs with this request's fields from then ({first}, {later}): re-attaching to the earliest, "
        f"{first}. The others may belong to other tasks with the same request, or be paid for twice: check them "
        "in the vendor's console"
    ]


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_lost_create_whose_jobs_failed_is_made_again(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    hook = hook_class(api)()
    request = {
        **Try(api, state).request,
        "extra_params": {"sim": {"queued_s": 0, "running_s": 0.1, "outcome": "failed"}},
    }
    failed = [hook.create_job(request).job_id for _ in range(2)]
    time.sleep(0.3)
    attempt = Try(api, state)
    attempt.request = request  # this try asks for the same video the failed job was
    attempt.memory.request = request
    attempt.memory.fingerprint = reattach.request_fingerprint(attempt.hook, request)
    record = reattach.ReattachRecord(attempt.memory.fingerprint, api, None, time.time() - 1)
    state.set(reattach.STATE_KEY, record.to_json())
    window = window_of(attempt, state)
    made = attempt.run()
    assert made not in failed
    assert paid(sim) == 3
    assert lines(attempt, "warning")[0] in {
        f"an earlier try's create request {window} made {api} job(s) {one}, {other}, which ended failed or "
        "cancelled: creating a new job"
        for one, other in (failed, failed[::-1])
    }


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_list_that_fails_says_so_and_how_to_go_on(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    orphaned(state, api)
    endpoint = CONTRACT_APIS[api].facts.list_endpoint
    sim.control.add_faults({"kind": "http_error", "status": 500, "api": api, "endpoint": endpoint})
    attempt = Try(api, state)
    with pytest.raises(VideoJobError) as caught:
        attempt.run()
    error = caught.value
    assert (error.provider, error.http_status) == (api, 500)
    assert error.hint == 'The next try looks again; set on_orphaned_intent="create" only if you accept a second job'
    assert str(error).startswith(f"{api}: an earlier try sent a create request {window_of(attempt, state)} and ")
    assert paid(sim) == 0


@pytest.mark.parametrize("api", LIST_APIS)
def test_no_list_to_look_in_fails_or_creates_and_says_which(sim: SimulatorHandle, api: str) -> None:
    endpoint = CONTRACT_APIS[api].facts.list_endpoint
    assert endpoint is not None
    sim.control.disable_endpoints(endpoint)
    spec = hook_class(api).api_spec
    assert spec is not None
    state = MemoryTaskState()
    orphaned(state, api)
    failing = Try(api, state)
    window = window_of(failing, state)
    with pytest.raises(VideoJobError) as caught:
        failing.run()
    unavailable = (
        "answered its job list with HTTP 404, so there is no list in which to look for a job whose create answer "
        "was lost"
    )
    assert caught.value.provider == api
    assert caught.value.summary == (
        f"an earlier try sent a create request {window} and stopped before reading its answer, so a job may exist "
        f"and be billed; {spec.vendor} {unavailable}. Not creating another, which could pay twice"
    )
    console = spec.console_url or f"{spec.vendor}'s web console"
    assert caught.value.hint == (
        f"Look for a job from that window in {console}. If there is none, or paying twice is acceptable, set "
        'on_orphaned_intent="create" on the task and run it again'
    )
    creating = Try(api, state, on_orphaned_intent="create")
    creating.run()
    assert lines(creating, "warning") == [
        f"an earlier try sent a create request {window} and stopped before reading its answer, and {unavailable}: "
        'creating a new job as on_orphaned_intent="create" says (if the first request made a job, both are paid for)'
    ]


# ----- records that cannot be written -----------------------------------------------------------------


class FailingSecondWrite(MemoryTaskState):
    """Takes the intent, then refuses every write (the execution API went away)."""

    def set(self, key: str, value: Any) -> None:
        if self.sets >= 1 and key == reattach.STATE_KEY:
            self.sets += 1
            raise RuntimeError("execution API unavailable")
        super().set(key, value)


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_found_job_that_cannot_be_recorded_is_still_waited_on(sim: SimulatorHandle, api: str) -> None:
    made = Try(api, MemoryTaskState()).run()
    state = FailingSecondWrite()
    orphaned(state, api, written_at=time.time() - 1)
    state.sets = 1  # the intent is in; the store now refuses
    attempt = Try(api, state)
    assert attempt.run() == made
    assert lines(attempt, "warning") == [
        f"could not record {api} job {made} in the task_state_store (execution API unavailable)"
    ]


@pytest.mark.parametrize("api", LIST_APIS)
def test_a_created_job_that_cannot_be_recorded_says_what_a_retry_will_do(sim: SimulatorHandle, api: str) -> None:
    attempt = Try(api, FailingSecondWrite())
    made = attempt.run()
    assert lines(attempt, "error") == [
        f"{api} job {made} was created but could not be recorded in the task_state_store (execution API "
        "unavailable): if this try fails, a retry looks for it in the API's job list where it can, and otherwise "
        "may create another"
    ]


# ----- Variable records (Airflow 3.1/3.2) as the Task SDK stores them -----------------------------------------

_MISSING = object()


class SdkVariables:
    """The Task SDK's ``Variable`` surface: ``get`` without a default raises ``KeyError`` for a missing key."""

    def __init__(self, with_delete: bool = True) -> None:
        self.values: dict[str, str] = {}
        self.descriptions: dict[str, str | None] = {}
        if with_delete:
            self.delete = self.values.pop

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.values:
            return self.values[key]
        if default is _MISSING:
            raise KeyError(f"Variable {key} does not exist")
        return default

    def set(self, key: str, value: str, description: str | None = None) -> None:
        self.values[key] = value
        self.descriptions[key] = description


def test_a_variable_store_with_no_record_reads_none_from_the_sdk() -> None:
    assert reattach.VariableStore("k", SdkVariables()).load() is None


def test_a_variable_record_says_whose_it_is_in_airflows_ui() -> None:
    variables = SdkVariables()
    store = reattach.VariableStore("k", variables)
    store.save(reattach.new_record("f" * 64, "aihubmix", "job-1"))
    assert (variables.descriptions["k"] or "").startswith("airflow-provider-vidjobs: ")
    assert "re-attach" in (variables.descriptions["k"] or "")


def test_forgetting_without_a_delete_blanks_the_record_and_says_so() -> None:
    variables = SdkVariables(with_delete=False)
    store = reattach.VariableStore("k", variables)
    store.save(reattach.new_record("f" * 64, "aihubmix", "job-1"))
    store.forget()
    assert store.load() is None
    assert variables.descriptions["k"] == "airflow-provider-vidjobs: no job recorded"


def test_the_variable_store_uses_airflows_variable_by_default() -> None:
    from airflow.providers.common.compat.sdk import Variable

    assert reattach.VariableStore("k")._variables is Variable


def test_a_variable_record_is_honoured_for_exactly_its_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = SdkVariables()
    store = reattach.VariableStore("k", variables)
    written = 1_800_000_000.0
    monkeypatch.setattr(reattach.time, "time", lambda: written)
    store.save(reattach.new_record("f" * 64, "aihubmix", "job-1"))
    monkeypatch.setattr(reattach.time, "time", lambda: written + 30 * 24 * 3600)
    record = store.load()
    assert record is not None
    assert record.job_id == "job-1"


# ----- the task instance a record belongs to --------------------------------------------------------------


def ti(map_index: Any = -1, **fields: str) -> SimpleNamespace:
    values = {"dag_id": "d", "task_id": "t", "run_id": "manual__1", "map_index": map_index, **fields}
    return SimpleNamespace(**values)


def test_the_identity_is_the_one_earlier_versions_wrote() -> None:
    """A Variable written before an upgrade must still be found after it: the identity is a stored key."""
    assert reattach.identity(ti()) == "7fa8e7567618c199859e056c996449305441e45d"  # sha256("d␟t␟manual__1␟-1")[:40]


def test_an_unmapped_task_is_map_index_minus_one_whatever_the_sdk_says() -> None:
    bare = SimpleNamespace(dag_id="d", task_id="t", run_id="manual__1")
    assert reattach.identity(ti(None)) == reattach.identity(ti(-1)) == reattach.identity(bare)
    assert reattach.identity(ti(0)) != reattach.identity(ti(-1))


def test_the_identity_tells_task_instances_apart() -> None:
    assert len({reattach.identity(ti(**{field: "x"})) for field in ("dag_id", "task_id", "run_id")}) == 3


def test_windows_are_aware_utc_datetimes_around_the_intent() -> None:
    since, until = reattach.datetime_window(1_800_000_000.0, 1_800_000_100.0)
    assert since.tzinfo is not None
    assert until.tzinfo is not None
    assert (since.timestamp(), until.timestamp()) == (1_800_000_000.0 - 60, 1_800_000_100.0 + 60)
    assert isinstance(since, datetime)


def test_an_intent_window_spans_the_create_requests_whole_life_and_little_more(
    sim: SimulatorHandle, connections: Any
) -> None:
    """Defaults: 4 connect tries of 10 s, a 30 s read: the POST may be alive 70 s after the intent; the vendor's
    clock may be a minute off either way. A wider window takes other tasks' jobs; a narrower one misses ours."""
    attempt = Try(LIST_APIS[0], MemoryTaskState())
    written = 1_800_000_000.0
    since, until = attempt.memory.intent_window(reattach.ReattachRecord("f", "x", None, written))
    assert since.timestamp() == written - 60
    assert written + 70 + 60 <= until.timestamp() <= written + 70 + 60 + 60


class ForgetfulHook:
    """A hook of an API that can create but documents no list, whose recorded job is gone."""

    provider = "nolist"
    api_spec = None
    can_find_created = False

    def get_job(self, job_id: str) -> Any:
        from airflow_provider_vidjobs.exceptions import JobNotFoundError

        raise JobNotFoundError("no such job", provider=self.provider, job_id=job_id)


def test_a_gone_job_of_an_api_without_a_list_is_not_said_to_be_missing_from_one() -> None:
    from _create_tries import Log

    state = MemoryTaskState()
    state.set(reattach.STATE_KEY, reattach.new_record("f" * 64, "nolist", "job-9").to_json())
    log = Log()
    memory = reattach.Reattacher(
        reattach.TaskStateStore(state),
        "f" * 64,
        ForgetfulHook(),
        log,
        sleep=lambda _: None,  # type: ignore[arg-type]
    )
    assert memory.reusable_job() is None
    assert log.text("warning") == (
        "nolist job job-9, created by an earlier try, is gone at the API (404 twice, 5 s apart): creating a new job"
    )


def test_a_fingerprint_is_the_one_earlier_versions_recorded() -> None:
    """A record written before an upgrade must match after it: key order, separators, bytes and lists count."""
    fields = {"b": [b"\x89PNG", {"z": 1, "a": None}], "a": "fox", "when": datetime(2026, 1, 1)}
    assert reattach.fingerprint(fields) == GOLDEN_FINGERPRINT


class _NamedHook:
    provider = "aihubmix"
    conn_id = "aihubmix_default"


def test_a_request_fingerprint_is_the_one_earlier_versions_recorded() -> None:
    """Provider, connection and request fields, an image's bytes hashed: what 0.1.0 wrote into its records."""
    from airflow_provider_vidjobs.hooks.aihubmix import InputReference

    request = {"prompt": "fox", "seconds": "8", "input_reference": InputReference(content=b"\x89PNG", filename="a.png")}
    assert reattach.request_fingerprint(_NamedHook(), request) == GOLDEN_REQUEST_FINGERPRINT  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        {"format": 1, "fingerprint": "f" * 64, "provider": 5},
        {"format": 1, "fingerprint": 5, "provider": "aihubmix"},
        {"format": 1, "fingerprint": "f" * 64, "provider": "aihubmix", "job_id": 7},
    ],
)
def test_a_record_with_a_field_of_the_wrong_type_is_not_trusted(value: dict[str, Any]) -> None:
    assert reattach.ReattachRecord.from_json(value) is None


def test_a_refused_create_with_no_earlier_record_leaves_none() -> None:
    from airflow_provider_vidjobs.exceptions import InvalidRequestError

    state = MemoryTaskState()
    memory = reattach.Reattacher(reattach.TaskStateStore(state), "f" * 64, _NamedHook(), None)  # type: ignore[arg-type]

    def refused() -> Any:
        raise InvalidRequestError("the API refused the request", provider="aihubmix", http_status=400)

    with pytest.raises(InvalidRequestError):
        memory.create(refused)
    assert state.values == {}


class _BrokenStore:
    name = "task_state_store"

    def load(self) -> None:
        raise RuntimeError("execution API unavailable")


def test_an_unreadable_record_names_the_api_and_what_to_do() -> None:
    memory = reattach.Reattacher(_BrokenStore(), "f" * 64, _NamedHook(), None)  # type: ignore[arg-type]
    with pytest.raises(VideoJobError) as caught:
        memory.reusable_job()
    assert caught.value.provider == "aihubmix"
    assert caught.value.summary == (
        "could not read this task's re-attach record from the task_state_store (execution API unavailable); not "
        "creating a job, since an earlier try's job may exist"
    )
    assert caught.value.hint == "Retry the task once the Airflow API answers, or set reattach=False to create a new job"


@pytest.mark.parametrize("api", LIST_APIS)
def test_the_lines_of_a_changed_request_and_of_a_failed_job(sim: SimulatorHandle, api: str) -> None:
    state = MemoryTaskState()
    first = Try(api, state).run()
    other = Try(api, state)
    other.memory.fingerprint = "0" * 64  # the request changed between tries
    second = other.run()
    assert lines(other, "info")[0] == (
        f"an earlier try created {api} job {first} for a different request (prompt, model, seconds, size, input "
        "reference, extra params or connection changed): creating a new job"
    )
    sim.control.update_job(second, outcome="failed", queued_s=0, running_s=0)
    third = Try(api, state)
    third.memory.fingerprint = "0" * 64
    third.run()
    [failed_line] = lines(third, "warning")
    assert failed_line.startswith(f"{api} job {second}, created by an earlier try, ended failed (")
    assert failed_line.endswith("): creating a new job")
    assert f"{api} job {second}: failed" in failed_line  # the job's own summary, in the brackets
