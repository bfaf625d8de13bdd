"""VideoJobSensor's ``start_from_trigger`` and ``end_from_trigger`` as DAG-parse-time settings.

What Airflow 3.3 reads (``start_from_trigger``, ``start_trigger_args``) and the fallback on older
Airflow: one warning, the worker path, never an error. CI runs this file on Airflow 3.1.8 too, where
the fallback is the real one.
"""

from __future__ import annotations

import importlib
import json
import warnings

import pytest
from _apis import API_NAMES, contract_api
from airflow.sdk import Asset

from airflow_provider_vidjobs import version_compat
from airflow_provider_vidjobs.sensors import video_job as sensor_module
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

TEMPLATED_ID = "{{ ti.xcom_pull(task_ids='create', key='job_id', map_indexes=-1) }}"


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    version_compat.warn_once.cache_clear()


def sensor(**kwargs: object) -> VideoJobSensor:
    kwargs.setdefault("task_id", "wait")
    kwargs.setdefault("job_id", TEMPLATED_ID)
    kwargs.setdefault("conn_id", "aihubmix_default")
    return VideoJobSensor(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
def airflow_3_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the sensor does on Airflow 3.3+ (StartTriggerArgs exists on 3.1 too, so this runs everywhere)."""
    monkeypatch.setattr(sensor_module, "AIRFLOW_V_3_3_PLUS", True)


@pytest.mark.usefixtures("airflow_3_3")
@pytest.mark.parametrize("provider", API_NAMES)
def test_on_3_3_the_sensor_hands_airflow_a_trigger_built_from_its_templates(provider: str) -> None:
    conn_id = contract_api(provider).conn_id
    wait = sensor(
        start_from_trigger=True, end_from_trigger=True, timeout=600, poll_interval=5, provider=provider, conn_id=conn_id
    )

    args = wait.start_trigger_args
    assert wait.start_from_trigger is True
    assert wait.deferrable is True  # implied
    assert args is not None
    assert args.next_method == "execute_complete"
    kwargs = args.trigger_kwargs or {}
    assert kwargs["job_id"] == TEMPLATED_ID  # rendered by the triggerer (job_id is a template field)
    assert (kwargs["provider"], kwargs["conn_id"]) == (provider, conn_id)
    assert (kwargs["end_from_trigger"], kwargs["timeout"]) == (True, 600.0)
    assert json.loads(json.dumps(kwargs)) == kwargs  # stored in the serialized DAG as JSON
    # The triggerer renders the operator's template fields that are trigger kwargs and trigger attributes.
    module, _, name = args.trigger_cls.rpartition(".")
    trigger = getattr(importlib.import_module(module), name)(**kwargs)
    assert isinstance(trigger, VideoJobTrigger)
    assert {"job_id", "conn_id", "provider", "status_overrides"} <= set(kwargs)
    assert all(hasattr(trigger, field) for field in wait.template_fields)


@pytest.mark.usefixtures("airflow_3_3")
def test_the_class_default_is_not_changed_for_other_sensors() -> None:
    sensor(task_id="a", start_from_trigger=True)
    plain = sensor(task_id="b")

    assert plain.start_from_trigger is False
    assert VideoJobSensor.start_trigger_args is None
    assert plain.start_trigger_args is None


def test_without_a_connection_or_provider_start_from_trigger_is_refused_at_parse() -> None:
    with pytest.raises(ValueError, match="needs conn_id or provider"):
        VideoJobSensor(task_id="wait", job_id="x", start_from_trigger=True)


def test_before_3_3_start_from_trigger_warns_once_and_keeps_the_worker_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sensor_module, "AIRFLOW_V_3_3_PLUS", False)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sensors = [sensor(task_id=f"wait_{n}", start_from_trigger=True, end_from_trigger=True) for n in range(3)]

    messages = [str(w.message) for w in caught if "start_from_trigger" in str(w.message)]
    assert len(messages) == 1
    assert "Airflow >= 3.3" in messages[0]
    for wait in sensors:
        assert wait.start_from_trigger is False
        assert wait.deferrable is True
        assert wait.end_from_trigger is True  # still ends in the triggerer once deferred from the worker


def test_on_the_installed_airflow_start_from_trigger_applies_or_falls_back() -> None:
    """No monkeypatching: 3.3.2 in the main suite, the real fallback on 3.1.8 (CI runs both)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wait = sensor(start_from_trigger=True)

    fallback = [w for w in caught if "needs Airflow >= 3.3" in str(w.message)]
    if version_compat.AIRFLOW_V_3_3_PLUS:
        assert (wait.start_from_trigger, fallback) == (True, [])
    else:
        assert wait.start_from_trigger is False
        assert len(fallback) == 1


def test_end_from_trigger_is_off_for_a_task_with_outlets() -> None:
    wait = sensor(end_from_trigger=True, deferrable=True, outlets=[Asset("videos/new")])

    assert wait.end_from_trigger is False


def test_end_from_trigger_reaches_the_deferred_trigger(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_vidjobs import waiting

    seen: dict[str, object] = {}
    real = waiting.build_trigger

    def spy(*args: object, **kwargs: object) -> VideoJobTrigger:
        seen.update(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sensor_module, "build_trigger", spy)
    wait = sensor(job_id="video_1", provider="aihubmix", end_from_trigger=True, deferrable=True)
    monkeypatch.setattr(type(wait), "hook", property(lambda self: _StubHook()))

    from airflow.providers.common.compat.sdk import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        wait.execute({"ti": _StubTI()})  # type: ignore[arg-type]

    assert seen["end_from_trigger"] is True
    assert deferred.value.trigger.serialize()[1]["end_from_trigger"] is True


class _StubHook:
    """The sensor's hook at unit level: the job is running, so the sensor defers."""

    provider = "aihubmix"
    conn_id = "aihubmix_default"

    def validate_job_id(self, job_id: object) -> str:
        return str(job_id)

    def job_web_url(self, job_id: str) -> None:
        return None

    def get_job(self, job_id: str) -> object:
        from airflow_provider_vidjobs.models import VideoJob

        return VideoJob(provider="aihubmix", job_id=job_id, status="running", vendor_status="in_progress")


class _StubTI:
    def xcom_push(self, key: str, value: object) -> None:
        pass


@pytest.mark.usefixtures("airflow_3_3")
@pytest.mark.parametrize(
    ("job_id", "hint"),
    [
        ("{{ ti.xcom_pull(task_ids='create', key='job_id') }}", "add map_indexes=-1"),
        (object(), "is not rendered by the triggerer"),
    ],
    ids=["xcom_pull-without-map_indexes", "not-a-template"],
)
def test_a_job_id_the_triggerer_cannot_render_starts_on_a_worker_with_one_warning(job_id: object, hint: str) -> None:
    """Airflow 3.3's triggerer never answers xcom_pull() without map_indexes: the trigger would hang."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        waits = [sensor(task_id=f"wait_{n}", job_id=job_id, start_from_trigger=True) for n in range(2)]

    messages = [str(w.message) for w in caught if "start_from_trigger" in str(w.message)]
    assert len(messages) == 1
    assert hint in messages[0]
    assert all(wait.start_from_trigger is False and wait.deferrable for wait in waits)
