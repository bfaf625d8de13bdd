"""Helpers for the dag.test() DAG files of this folder (this module defines no DAG).

Nothing here runs at import: the simulator's URL and the folder for failure records are read from the
environment when a task runs (the test sets ``VIDJOBS_SIM_URL`` and ``VIDJOBS_DAGTEST_FAILURES``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def record_failure(context: Any) -> None:
    """``on_failure_callback``: keep the exception's type (with its bases) and message for the test."""
    folder = os.environ.get("VIDJOBS_DAGTEST_FAILURES")
    if not folder:
        return
    error = context.get("exception")
    record = {
        "type": type(error).__name__,
        "bases": [cls.__name__ for cls in type(error).__mro__],
        "message": str(error),
    }
    Path(folder, f"{context['ti'].task_id}.json").write_text(json.dumps(record))


def create_simulated_job(api: str, sim: dict[str, Any], id_style: str | None = None) -> str:
    """Create a job in the simulator through its control API; returns the job id."""
    from airflow_provider_vidjobs.testing.simulator import SimulatorControl

    control = SimulatorControl(os.environ["VIDJOBS_SIM_URL"])
    try:
        return str(control.create_job(api, sim=sim, id_style=id_style)["id"])
    finally:
        control.close()
