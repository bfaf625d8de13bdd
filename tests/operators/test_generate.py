"""GenerateVideoOperator (issue 23, item 1) for every registered API whose hook can create.

Each test runs the operator against the real simulator over HTTP, with the API's example create request
(``ContractFacts.create_request``); paid jobs and cancels are the simulator's own counters. No test names
a vendor: the APIs come from the registries, those that cannot create from the same tables.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _apis import API_NAMES, CONTRACT_APIS
from _task_state import MemoryTaskState

from airflow_provider_vidjobs.exceptions import VideoJobError
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.links import URL_ATTR
from airflow_provider_vidjobs.operators import GenerateVideoOperator
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.triggers.video_job import make_event

CREATE_APIS = [name for name in API_NAMES if hook_class(name).can_create]
NO_CREATE_APIS = [name for name in API_NAMES if not hook_class(name).can_create]
QUICK = {"sim": {"queued_s": 0.1, "running_s": 0.3}}
SLOW = {"sim": {"queued_s": 600, "running_s": 60}}


class TaskInstance:
    """``context["ti"]`` outside a DAG run: keeps its XComs, has the try's start."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}
        self.start_date = datetime.now(UTC)
        self.map_index = -1

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, *, task_ids: str, key: str, map_indexes: int | None = None) -> Any:
        return self.xcoms.get(key)


def new_try(state: MemoryTaskState | None = None) -> dict[str, Any]:
    return {"ti": TaskInstance(), "outlet_events": {}, "task_state_store": state or MemoryTaskState()}


def request_of(api: str, timeline: dict[str, Any]) -> dict[str, Any]:
    return {**CONTRACT_APIS[api].facts.create_request, "extra_params": timeline}


def operator(api: str, timeline: dict[str, Any] = SLOW, **kwargs: Any) -> GenerateVideoOperator:
    kwargs.setdefault("conn_id", HOOKS[api].default_conn_name)
    kwargs.setdefault("request", request_of(api, timeline))
    return GenerateVideoOperator(task_id="generate", poll_interval=0.1, **kwargs)


def paid(sim: SimulatorHandle) -> int:
    return int(sim.control.stats()["creates"]["total"])


def stopped(sim: SimulatorHandle) -> dict[str, Any]:
    return dict(sim.control.stats()["stopped_jobs"])


@pytest.mark.parametrize("api", CREATE_APIS)
def test_creates_the_job_and_returns_it(sim: SimulatorHandle, api: str) -> None:
    context = new_try()
    task = context["task"] = operator(api)
    result = task.execute(context)
    assert result is not None
    assert (result["provider"], result["status"]) == (api, "queued")
    assert context["ti"].xcoms["job_id"] == result["job_id"]
    # The "Video job" link: the API's own page when it gives one, and nothing at all (no empty row) when not.
    assert getattr(task, URL_ATTR, None) == result.get("web_url")
    assert set(context["ti"].xcoms) == {"job_id"}
    assert sim.control.job(result["job_id"])["api"] == api
    assert paid(sim) == 1


@pytest.mark.parametrize("api", CREATE_APIS)
def test_the_request_may_be_the_apis_model(sim: SimulatorHandle, api: str) -> None:
    model = hook_class(api).request_model
    assert model is not None
    result = operator(api, request=model.model_validate(request_of(api, SLOW))).execute(new_try())
    assert result is not None
    assert result["provider"] == api


@pytest.mark.parametrize("api", CREATE_APIS)
def test_waits_on_the_worker_until_the_video_is_done(sim: SimulatorHandle, api: str) -> None:
    result = operator(api, QUICK, wait_for_completion=True, deferrable=False).execute(new_try())
    assert result is not None
    assert result["status"] == "succeeded"
    assert result["video"]["url"]
    assert sim.control.job(result["job_id"])["phase"] == "completed"


@pytest.mark.parametrize("api", CREATE_APIS)
def test_a_second_try_re_attaches_and_pays_once(
    sim: SimulatorHandle, api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    state = MemoryTaskState()
    first = operator(api).execute(new_try(state))
    second = operator(api).execute(new_try(state))
    assert first is not None
    assert second is not None
    assert second["job_id"] == first["job_id"]
    assert paid(sim) == 1
    assert f"re-attaching to {api} job" in capsys.readouterr().out


@pytest.mark.parametrize("api", CREATE_APIS)
def test_an_unknown_field_is_refused_at_parse_naming_provider_and_field(api: str) -> None:
    with pytest.raises(ValueError, match=rf"invalid {api} request .*not_a_field: Extra inputs are not permitted"):
        operator(api, provider=api, request={**request_of(api, SLOW), "not_a_field": 1})


@pytest.mark.parametrize("api", CREATE_APIS)
def test_a_missing_field_is_refused_at_parse(api: str) -> None:
    request = request_of(api, SLOW)
    required = [name for name, field in hook_class(api).request_model.model_fields.items() if field.is_required()]  # type: ignore[union-attr]
    for name in required:
        request.pop(name)
    with pytest.raises(ValueError, match=rf"invalid {api} request .*{required[0]}: Field required"):
        operator(api, provider=api, request=request)


@pytest.mark.parametrize("api", CREATE_APIS)
def test_templates_are_judged_when_the_task_runs(sim: SimulatorHandle, api: str) -> None:
    request = {**request_of(api, SLOW), "extra_params": "{{ params.extra }}"}
    op = operator(api, provider=api, request=request)  # not a dict yet: no error at parse
    op.request = {**request, "extra_params": "[1, 2]"}  # what a bad template would render to
    with pytest.raises(ValueError, match=rf"invalid {api} request .*extra_params"):
        op.execute(new_try())
    assert paid(sim) == 0


@pytest.mark.parametrize("api", CREATE_APIS)
def test_a_conn_ids_request_is_validated_before_any_request(sim: SimulatorHandle, api: str) -> None:
    op = operator(api, request={**request_of(api, SLOW), "not_a_field": 1})  # API unknown at parse: accepted
    with pytest.raises(ValueError, match=rf"invalid {api} request .*not_a_field"):
        op.execute(new_try())
    assert sim.control.stats()["requests_total"] == 0


@pytest.mark.parametrize("api", NO_CREATE_APIS)
def test_an_api_that_cannot_create_is_refused_at_parse(api: str) -> None:
    with pytest.raises(ValueError, match=f"the {api} API documents no way to create a job"):
        GenerateVideoOperator(task_id="generate", provider=api, request={"prompt": "a fox"})


@pytest.mark.parametrize("api", NO_CREATE_APIS)
def test_an_api_that_cannot_create_is_refused_behind_a_conn_id_before_any_request(
    sim: SimulatorHandle, api: str
) -> None:
    op = GenerateVideoOperator(task_id="generate", conn_id=HOOKS[api].default_conn_name, request={"prompt": "x"})
    with pytest.raises(ValueError, match=f"the {api} API documents no way to create a job"):
        op.execute(new_try())
    assert sim.control.stats()["requests_total"] == 0


@pytest.mark.parametrize("api", CREATE_APIS)
def test_cancel_on_timeout_cancels_and_says_so(sim: SimulatorHandle, api: str) -> None:
    context = new_try()
    op = operator(api, wait_for_completion=True, deferrable=False, timeout=0.5, cancel_on_timeout=True)
    with pytest.raises(VideoJobError, match=f"cancelled at {HOOKS[api].vendor}") as caught:
        op.execute(context)
    job_id = context["ti"].xcoms["job_id"]
    assert job_id in stopped(sim)
    assert "not finished by the task's deadline" in str(caught.value)


@pytest.mark.parametrize("api", CREATE_APIS)
def test_without_cancel_on_timeout_the_message_says_the_job_still_runs(sim: SimulatorHandle, api: str) -> None:
    context = new_try()
    op = operator(api, wait_for_completion=True, deferrable=False, timeout=0.5)
    with pytest.raises(VideoJobError) as caught:
        op.execute(context)
    job_id = context["ti"].xcoms["job_id"]
    assert f"still running at {HOOKS[api].vendor} and may be billed: job {job_id}" in str(caught.value)
    assert stopped(sim) == {}


@pytest.mark.parametrize("api", CREATE_APIS)
def test_a_deferred_wait_carries_the_execution_timeout_as_its_deadline(sim: SimulatorHandle, api: str) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    op = operator(api, wait_for_completion=True, deferrable=True, timeout=3600, execution_timeout=timedelta(seconds=30))
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(new_try())
    kwargs = deferred.value.trigger.serialize()[1]
    assert before + 25 <= kwargs["deadline"] <= time.time() + 30
    assert deferred.value.timeout is not None
    assert 30 < deferred.value.timeout.total_seconds() <= 30 + 120
    json.dumps(kwargs)  # JSON-native, as the triggerer stores it


@pytest.mark.parametrize("api", CREATE_APIS)
def test_a_deferred_wait_that_times_out_is_cancelled_on_resume(sim: SimulatorHandle, api: str) -> None:
    context = new_try()
    job = operator(api).execute(context)
    assert job is not None
    event = make_event("timeout", provider=api, job_id=job["job_id"], message=f"{api} job {job['job_id']}: late")
    op = operator(api, wait_for_completion=True, deferrable=True, cancel_on_timeout=True)
    with pytest.raises(VideoJobError, match=f"late; the job was cancelled at {HOOKS[api].vendor}"):
        op.execute_complete(context, event)
    assert job["job_id"] in stopped(sim)


@pytest.mark.parametrize("api", CREATE_APIS)
def test_an_execution_timeout_alarm_on_the_worker_cancels_and_says_so(sim: SimulatorHandle, api: str) -> None:
    """The task runner's alarm (non-deferrable wait) interrupts the poll: the job is cancelled, and said so."""
    from airflow.providers.common.compat.sdk import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    context = new_try()
    op = operator(api, wait_for_completion=True, deferrable=False, timeout=3600, cancel_on_timeout=True)
    expected = f"execution_timeout; the job was cancelled at {HOOKS[api].vendor}"
    with pytest.raises(AirflowTaskTimeout, match=expected), timeout(1):
        op.execute(context)
    assert context["ti"].xcoms["job_id"] in stopped(sim)
