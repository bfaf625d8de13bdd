"""Drive one wait or download the three ways a DAG does, against the simulator, and report the outcome.

- :func:`trigger_outcome`: the deferred path. The trigger polls until it fires its one event; the
  event then goes through the sensor's ``execute_complete`` exactly as the task resumes on a worker.
- :func:`poke_outcome`: the sensor in poke mode (``deferrable=False``), ``execute()`` on the worker.
- :func:`download_outcome`: :class:`DownloadVideoOperator` ``execute()``.

Each returns an :class:`Outcome`: the XCom value, or the exception the task ended with.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _apis import API_NAMES, ContractApi, contract_api

from airflow_provider_vidjobs.http import clients
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

#: tests/conftest.py's canary (checked equal by the ``_same_canary_as_the_whole_suite`` fixture).
CANARY_KEY = "canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"
#: Every registered API (package and simulator tables, see tests/_apis.py): what the suite runs over.
PROVIDERS: tuple[str, ...] = API_NAMES
#: Connection extras that keep a hung request short.
FAST_TIMEOUTS = {"timeout": 2, "connect_timeout": 2}
#: A quick, fixed cadence for triggers and pokes.
POLL = {"min_interval": 0.05, "max_interval": 0.5, "adaptive": False, "jitter": 0.0}
QUICK = {"queued_s": 0.05, "running_s": 0.15}
DONE = {"queued_s": 0, "running_s": 0}
FOREVER = {"queued_s": 0, "running_s": 0.05, "outcome": "stuck"}


class FakeTI:
    """What the operators use of ``context["ti"]``: ``xcom_push`` (kept, for the leak checks)."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}
        self.task_id = "hardening"

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


class FakeTaskState:
    """Airflow 3.3's ``context["task_state_store"]`` (get/set/delete), where the create operator keeps its record."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def make_context() -> dict[str, Any]:
    return {"ti": FakeTI(), "outlet_events": {}, "task_state_store": FakeTaskState()}


@dataclass
class Outcome:
    """How a task ended: ``value`` (its XCom) or ``error``; plus what it left behind for leak checks."""

    value: Any = None
    error: BaseException | None = None
    event: dict[str, Any] | None = None
    elapsed: float = 0.0
    context: dict[str, Any] = field(default_factory=make_context)
    objects: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return str(self.error) if self.error is not None else ""

    def leak_surfaces(self) -> list[tuple[str, Any]]:
        """Everything of this run that a key must never reach."""
        out: list[tuple[str, Any]] = [("xcom", self.value), ("xcoms pushed", self.context["ti"].xcoms)]
        if self.error is not None:
            out.append(("task error", self.error))
        if self.event is not None:
            out.append(("trigger event", self.event))
        out += [(type(o).__name__, o) for o in self.objects]
        return out


def contract(provider: str) -> ContractApi:
    """The registered API's facts (endpoints, wire statuses, test-job fields...)."""
    return contract_api(provider)


def new_job(sim: SimulatorHandle, provider: str, timeline: dict[str, Any] | None = None, **fields: Any) -> str:
    """A simulated job with the API's test-job fields (AIHubMix ids get ``/``, ``+`` and ``=``, as real ones may)."""
    fields = {**contract(provider).job_fields, **fields}
    return str(sim.control.create_job(provider, sim=timeline or QUICK, **fields)["id"])


def make_sensor(api: str, job_id: Any, **kwargs: Any) -> VideoJobSensor:
    """A poke-mode sensor on ``api``'s connection (its ``provider`` is left to the connection unless given)."""
    kwargs["conn_id"] = kwargs.get("conn_id") or f"{api}_default"
    kwargs.setdefault("poll_interval", POLL["min_interval"])
    kwargs.setdefault("max_poll_interval", POLL["max_interval"])
    kwargs.setdefault("adaptive_polling", False)
    kwargs.setdefault("timeout", 10)
    kwargs.setdefault("deferrable", False)
    return VideoJobSensor(task_id="wait", job_id=job_id, mode="poke", **kwargs)


def trigger_outcome(
    provider: str,
    job_id: str,
    *,
    policy: dict[str, Any] | None = None,
    deadline_in: float | None = 10.0,
    status_overrides: dict[str, str] | None = None,
    conn_id: str | None = None,
    sensor_kwargs: dict[str, Any] | None = None,
) -> Outcome:
    """Run the trigger to its event (in a fresh loop), then resume the sensor with it."""
    trigger = VideoJobTrigger(
        provider=provider,
        conn_id=conn_id or f"{provider}_default",
        job_id=job_id,
        poll_policy={**POLL, **(policy or {})},
        deadline=time.time() + deadline_in if deadline_in is not None else None,
        status_overrides=status_overrides,
    )

    async def first_event() -> dict[str, Any]:
        events = trigger.run()
        event = await anext(events)
        await events.aclose()
        assert clients.CLIENT_POOL.open_clients() == 0, "the trigger left its pooled client open"
        payload: dict[str, Any] = event.payload
        return payload

    started = time.monotonic()
    event = asyncio.run(asyncio.wait_for(first_event(), timeout=30))
    outcome = Outcome(event=event, elapsed=time.monotonic() - started, objects=[trigger, trigger.serialize()])
    sensor = make_sensor(
        provider, job_id, conn_id=conn_id, provider=provider, status_overrides=status_overrides, **(sensor_kwargs or {})
    )
    outcome.objects += [sensor]
    try:
        outcome.value = sensor.execute_complete(outcome.context, event)
    except Exception as error:  # the outcome under test
        outcome.error = error
    outcome.objects.append(sensor.hook)
    sensor.hook.close()
    return outcome


def poke_outcome(provider: str, job_id: Any, **sensor_kwargs: Any) -> Outcome:
    """The sensor in poke mode: ``execute()`` until done, failed or timed out."""
    sensor = make_sensor(provider, job_id, **sensor_kwargs)
    outcome = Outcome(objects=[sensor])
    started = time.monotonic()
    try:
        outcome.value = sensor.execute(outcome.context)
    except Exception as error:  # the outcome under test
        outcome.error = error
    outcome.elapsed = time.monotonic() - started
    if sensor._hook is not None:
        outcome.objects.append(sensor._hook)
        sensor._hook.close()
    return outcome


def download_outcome(provider: str, job: Any, destination: Path | str, **kwargs: Any) -> Outcome:
    """:class:`DownloadVideoOperator` ``execute()`` into ``destination``."""
    kwargs.setdefault("conn_id", f"{provider}_default")
    operator = DownloadVideoOperator(task_id="download", job=job, destination=str(destination), **kwargs)
    outcome = Outcome(objects=[operator])
    started = time.monotonic()
    try:
        outcome.value = operator.execute(outcome.context)
    except Exception as error:  # the outcome under test
        outcome.error = error
    outcome.elapsed = time.monotonic() - started
    return outcome


def job_stats(sim: SimulatorHandle, job_id: str) -> dict[str, Any]:
    """The simulator's counters for one job: requests and statuses."""
    stats: dict[str, Any] = sim.control.stats()["jobs"].get(job_id, {"requests": 0, "statuses": {}})
    return stats


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder`` (hidden temporary ``.part`` files included)."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file())
