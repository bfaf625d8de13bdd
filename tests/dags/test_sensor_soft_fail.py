"""soft_fail skips a sensor whose wait timed out, never one whose job failed (dagfiles/vidjobs_sensor_soft_fail.py).

The sensor documents: a failed job raises JobFailedError; a wait longer than ``timeout`` raises
AirflowSensorTimeout, or skips the task with ``soft_fail=True``. Poke and deferrable modes must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

pytestmark = pytest.mark.dagtest


def test_failed_job_fails_the_sensor_even_with_soft_fail(
    dag_runner: Callable[..., Any], vidjobs_simulator: SimulatorHandle
) -> None:
    result = dag_runner("vidjobs_sensor_soft_fail")

    for task_id in ("failed_poke_soft", "failed_defer_soft"):
        assert result.states[task_id] == "failed", result.states
        assert result.failures[task_id]["type"] == "JobFailedError"
        assert "moderation_blocked" in result.failures[task_id]["message"]
