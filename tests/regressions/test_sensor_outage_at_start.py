"""A deferrable VideoJobSensor must sit out a short API outage at task start, as its deferred wait does.

Belongs in tests/sensors/. ``failure_budget`` is documented as "seconds of consecutive API failures
(429, 5xx, timeouts) a deferred wait sits out"; poke mode also keeps waiting through 5xx. The deferrable
sensor's one check before deferring must not turn an 8-second outage into a failed task.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle


class RecordingTaskInstance:
    def xcom_push(self, key: str, value: Any) -> None:
        pass


def test_deferrable_sensor_defers_through_an_outage_at_start(
    vidjobs_simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = vidjobs_simulator
    for name, value in sim.airflow_connections().items():
        monkeypatch.setenv(name, value)
    job_id = sim.control.create_job("tensorpix", sim={"queued_s": 0, "running_s": 30})["id"]
    sim.control.outage(8, status=503, api="tensorpix")
    sensor = VideoJobSensor(
        task_id="wait", job_id=job_id, conn_id="tensorpix_default", deferrable=True, failure_budget=600
    )

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({"ti": RecordingTaskInstance()})

    assert deferred.value.trigger.serialize()[1]["job_id"] == job_id
