"""Re-attach (issue 14): a new try of the create operator waits on the earlier try's job instead of paying again.

Every test runs the operator against the real simulator over HTTP; the paid-job count is the simulator's
own ``creates`` counter. The task-state store is an in-memory stand-in with the SDK accessor's get/set
(the real store is exercised by tests/dags/test_reattach_dag.py and the e2e suite). Operator log lines go
through Airflow's structlog to stdout, where ``capsys`` reads them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from _task_state import MemoryTaskState

from airflow_provider_vidjobs import reattach
from airflow_provider_vidjobs.exceptions import InvalidRequestError, VideoJobError
from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

QUICK = {"sim": {"queued_s": 0.1, "running_s": 0.3}}
SLOW = {"sim": {"queued_s": 600, "running_s": 60}}


class RecordingTaskInstance:
    """``context["ti"]`` outside a DAG run: keeps its XComs."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def new_try(state: MemoryTaskState) -> dict[str, Any]:
    """A fresh context per try: XComs are gone (as Airflow clears them), the task state is not."""
    return {"ti": RecordingTaskInstance(), "outlet_events": {}, "task_state_store": state}


def paid(sim: SimulatorHandle) -> int:
    return int(sim.control.stats()["creates"]["total"])


def operator(**kwargs: Any) -> AIHubMixCreateVideoOperator:
    kwargs.setdefault("prompt", "a fox in the snow")
    kwargs.setdefault("extra_params", SLOW)
    return AIHubMixCreateVideoOperator(task_id="create", **kwargs)


def test_a_second_try_re_attaches_to_the_running_job(sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]) -> None:
    state = MemoryTaskState()
    first = operator().execute(new_try(state))
    second = operator().execute(new_try(state))
    assert second is not None
    assert first is not None
    assert second["job_id"] == first["job_id"]
    assert paid(sim) == 1
    assert "re-attaching to aihubmix job" in capsys.readouterr().out


def test_a_wait_that_re_attaches_returns_the_succeeded_job_without_creating(sim: SimulatorHandle) -> None:
    state = MemoryTaskState()
    first = operator(extra_params=QUICK).execute(new_try(state))
    assert first is not None
    time.sleep(0.6)
    context = new_try(state)
    result = operator(extra_params=QUICK, wait_for_completion=True, deferrable=False).execute(context)
    assert result is not None
    assert result["job_id"] == first["job_id"]
    assert result["status"] == "succeeded"
    assert context["ti"].xcoms["job_id"] == first["job_id"]
    assert paid(sim) == 1


def test_a_changed_prompt_creates_a_new_job(sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]) -> None:
    state = MemoryTaskState()
    first = operator().execute(new_try(state))
    second = operator(prompt="a fox in the rain").execute(new_try(state))
    assert first is not None
    assert second is not None
    assert second["job_id"] != first["job_id"]
    assert paid(sim) == 2
    assert "for a different request" in capsys.readouterr().out
    # and the record now names the new job: a third try with the new prompt re-attaches to it
    third = operator(prompt="a fox in the rain").execute(new_try(state))
    assert third is not None
    assert third["job_id"] == second["job_id"]
    assert paid(sim) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"model": "veo-3.1"},
        {"seconds": 8},
        {"size": "1280x720"},
        {"extra_params": {**SLOW, "quality": "high"}},
        {"input_reference": b"\x89PNG\r\n\x1a\nother image"},
    ],
)
def test_every_request_field_is_in_the_fingerprint(sim: SimulatorHandle, change: dict[str, Any]) -> None:
    state = MemoryTaskState()
    operator(input_reference=b"\x89PNG\r\n\x1a\nimage").execute(new_try(state))
    operator(**{"input_reference": b"\x89PNG\r\n\x1a\nimage", **change}).execute(new_try(state))
    assert paid(sim) == 2


def test_a_failed_job_is_not_reused(sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]) -> None:
    state = MemoryTaskState()
    failing = {"sim": {"queued_s": 0, "running_s": 0.1, "outcome": "failed"}}
    first = operator(extra_params=failing).execute(new_try(state))
    assert first is not None
    time.sleep(0.3)
    second = operator(extra_params=failing).execute(new_try(state))
    assert second is not None
    assert second["job_id"] != first["job_id"]
    assert paid(sim) == 2
    assert f"aihubmix job {first['job_id']}, created by an earlier try, ended failed" in capsys.readouterr().out


def test_a_job_gone_at_the_api_is_not_reused(
    sim: SimulatorHandle, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reattach, "GONE_CONFIRM_DELAY_S", 0.05)
    state = MemoryTaskState()
    first = operator().execute(new_try(state))
    assert first is not None
    sim.control.delete_job(first["job_id"])
    second = operator().execute(new_try(state))
    assert second is not None
    assert second["job_id"] != first["job_id"]
    assert paid(sim) == 2
    assert "is gone at the API (404 twice" in capsys.readouterr().out


def test_reattach_false_always_creates_and_keeps_no_state(sim: SimulatorHandle) -> None:
    state = MemoryTaskState()
    operator(reattach=False).execute(new_try(state))
    operator(reattach=False).execute(new_try(state))
    assert paid(sim) == 2
    assert state.values == {}


def test_a_try_killed_inside_the_window_re_attaches_to_the_job_its_request_made(
    sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record without a job id: the earlier try wrote its intent and died before recording the job.

    The job its request made is in the API's list (same prompt, created in the window): no second job.
    """
    state = MemoryTaskState()
    first = operator().execute(new_try(state))
    assert first is not None
    record = state.values[reattach.STATE_KEY]
    state.values[reattach.STATE_KEY] = {**record, "job_id": None}
    second = operator().execute(new_try(state))
    assert second is not None
    assert second["job_id"] == first["job_id"]
    assert paid(sim) == 1
    assert "found the job it made" in capsys.readouterr().out


def test_the_job_id_is_recorded_before_anything_else_after_the_post(sim: SimulatorHandle) -> None:
    """Intent before the POST, the id right after it: two writes, the second naming the job."""
    state = MemoryTaskState()
    result = operator().execute(new_try(state))
    assert result is not None
    assert state.sets == 2
    record = reattach.ReattachRecord.from_json(state.values[reattach.STATE_KEY])
    assert record is not None
    assert record.job_id == result["job_id"]
    assert record.provider == "aihubmix"


class BrokenState(MemoryTaskState):
    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("execution API unavailable")


def test_an_unreadable_record_fails_the_try_without_creating(sim: SimulatorHandle) -> None:
    with pytest.raises(VideoJobError, match="could not read this task's re-attach record") as caught:
        operator().execute(new_try(BrokenState()))
    assert "reattach=False" in str(caught.value)
    assert paid(sim) == 0


class UnwritableAfterIntent(MemoryTaskState):
    def set(self, key: str, value: Any) -> None:
        if value.get("job_id"):
            raise RuntimeError("execution API unavailable")
        super().set(key, value)


def test_a_record_that_cannot_be_written_after_the_post_keeps_the_job(
    sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    result = operator().execute(new_try(UnwritableAfterIntent()))
    assert result is not None
    assert result["status"] == "queued"
    assert paid(sim) == 1
    assert f"aihubmix job {result['job_id']} was created but could not be recorded" in capsys.readouterr().out


def test_a_record_never_holds_the_key_the_prompt_or_an_image_url(sim: SimulatorHandle) -> None:
    state = MemoryTaskState()
    operator(input_reference="https://img.example/cat.png?X-Amz-Signature=abc123").execute(new_try(state))
    text = json.dumps(state.values)
    assert sim.aihubmix_key not in text
    assert "fox" not in text
    assert "X-Amz-Signature" not in text
    assert "abc123" not in text


# ----- the Variable store (Airflow 3.1/3.2) -----------------------------------------------------


class FakeVariables:
    """The SDK ``Variable`` class surface the store uses."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: str, description: str | None = None) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def test_the_variable_store_round_trips_and_expires_on_read() -> None:
    variables = FakeVariables()
    store = reattach.VariableStore("vidjobs_reattach__abc", variables)
    store.save(reattach.new_record("fp", "aihubmix", "video_1"))
    loaded = store.load()
    assert loaded is not None
    assert loaded.job_id == "video_1"
    old = reattach.ReattachRecord("fp", "aihubmix", "video_1", written_at=time.time() - reattach.VARIABLE_TTL_S - 1)
    variables.values[store.key] = json.dumps(old.to_json())
    assert store.load() is None
    assert store.key not in variables.values


class _TI:
    dag_id, task_id, run_id = "d", "t", "manual__1"

    def __init__(self, map_index: int) -> None:
        self.map_index = map_index


def test_without_a_task_state_store_the_record_is_a_variable_per_task_instance() -> None:
    first = reattach.store_for({"ti": _TI(0)})
    second = reattach.store_for({"ti": _TI(1)})
    assert isinstance(first, reattach.VariableStore)
    assert isinstance(second, reattach.VariableStore)
    assert first.key.startswith(reattach.VARIABLE_PREFIX)
    assert first.key != second.key
    assert reattach.store_for({"ti": _TI(0)}).key == first.key  # the same on every try
    assert isinstance(
        reattach.store_for({"ti": _TI(0), "task_state_store": MemoryTaskState()}), reattach.TaskStateStore
    )


@pytest.mark.parametrize("value", [None, "", "not json", [], {"format": 99}, {"format": 1, "fingerprint": 3}])
def test_a_record_this_version_did_not_write_is_ignored(value: Any) -> None:
    assert reattach.ReattachRecord.from_json(value) is None


def test_a_create_the_api_refused_leaves_no_false_window_warning(
    sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 400 means no job exists: the intent is withdrawn, so the next try does not warn of an unseen job."""
    state = MemoryTaskState()
    with pytest.raises(InvalidRequestError):
        operator(size="not-a-size").execute(new_try(state))
    assert state.values == {}
    first = operator().execute(new_try(state))
    with pytest.raises(InvalidRequestError):
        operator(size="not-a-size").execute(new_try(state))
    assert reattach.ReattachRecord.from_json(state.values[reattach.STATE_KEY]).job_id == first["job_id"]
    operator().execute(new_try(state))
    assert "stopped between sending" not in capsys.readouterr().out
    assert paid(sim) == 1


class VariablesWithoutDelete(FakeVariables):
    """An SDK ``Variable`` without ``delete``: the store blanks the record instead."""

    delete = None  # type: ignore[assignment]


def test_a_variable_store_without_delete_blanks_an_expired_record() -> None:
    variables = VariablesWithoutDelete()
    store = reattach.VariableStore("vidjobs_reattach__abc", variables)
    old = reattach.ReattachRecord("fp", "aihubmix", "video_1", written_at=time.time() - reattach.VARIABLE_TTL_S - 1)
    variables.values[store.key] = json.dumps(old.to_json())
    assert store.load() is None
    assert variables.values[store.key] == "{}"
    assert store.load() is None
