"""dag.test() against the simulator: a private Airflow home and metadata DB for the whole session.

Airflow reads ``AIRFLOW_HOME`` and builds its DB engine when it is first imported, so the environment
is set here, at import time, before any test module of this directory imports Airflow. ``pytest tests``
collects this directory first; if another directory already imported Airflow (``pytest tests/x
tests/dags``), the DB engine is rebuilt from the same variables.

DAG files live in ``dagfiles/`` (the configured DAGS_FOLDER: ``dag.test()`` writes the DAG from there to
the DB). They read everything run-specific from ``dag_run.conf`` and the simulator's URL from
``VIDJOBS_SIM_URL`` at run time, never at import.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

DAG_FILES = Path(__file__).resolve().parent / "dagfiles"

_HOME = Path(tempfile.mkdtemp(prefix="vidjobs-dagtest-home-"))
atexit.register(shutil.rmtree, _HOME, True)
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILES),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_HOME / "logs"),
    }
)
if str(DAG_FILES) not in sys.path:  # the DAG files import their shared helper module by name
    sys.path.insert(0, str(DAG_FILES))
if "airflow.settings" in sys.modules:  # imported by an earlier test directory: point it at our DB
    from airflow import settings as _settings

    _settings.configure_vars()
    _settings.reconfigure_orm()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A fresh metadata DB in the session's Airflow home (created once, a few seconds)."""
    from airflow import settings
    from airflow.utils import db

    assert str(_HOME) in str(settings.SQL_ALCHEMY_CONN), (
        f"Airflow is not using the test DB: {settings.SQL_ALCHEMY_CONN}"
    )
    db.initdb()
    return _HOME


@dataclass
class DagRunResult:
    """What one dag.test() run left in the metadata DB, plus the exceptions its failed tasks raised."""

    module: ModuleType
    run_id: str
    state: str
    #: task id -> final state ("success", "failed", "skipped", ...)
    states: dict[str, str]
    #: (task id, key) -> value
    xcoms: dict[tuple[str, str], Any]
    #: task id -> how many times it was rescheduled
    reschedules: dict[str, int]
    #: kwargs of every trigger row in the DB (decoded, and as stored)
    trigger_kwargs: list[dict[str, Any]]
    stored_trigger_kwargs: list[str]
    #: task id -> {"type", "bases", "message"} of the exception it failed with
    failures: dict[str, dict[str, Any]]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.xcoms[(task_id, key)]

    def triggered_job_ids(self) -> set[str]:
        return {str(kwargs.get("job_id")) for kwargs in self.trigger_kwargs}


def _load_dag_module(name: str) -> ModuleType:
    path = DAG_FILES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"vidjobs_dagtest_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _collect(module: ModuleType, dag_id: str, run_id: str, failures_dir: Path) -> DagRunResult:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        assert run is not None
        tis = run.get_task_instances(session=session)
        states = {ti.task_id: str(ti.state) for ti in tis}
        task_of = {ti.id: ti.task_id for ti in tis}
        reschedules = dict.fromkeys(states, 0)
        for row in session.scalars(select(TaskReschedule).where(TaskReschedule.ti_id.in_(list(task_of)))):
            reschedules[task_of[row.ti_id]] += 1
        xcoms = {
            (row.task_id, row.key): XComModel.deserialize_value(row)
            for row in session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id))
        }
        triggers = list(session.scalars(select(Trigger)))
        trigger_kwargs = [trigger.kwargs for trigger in triggers]
        stored = [trigger.encrypted_kwargs for trigger in triggers]
        state = str(run.state)
    failures = {path.stem: json.loads(path.read_text()) for path in failures_dir.glob("*.json")}
    return DagRunResult(module, run_id, state, states, xcoms, reschedules, trigger_kwargs, stored, failures)


@pytest.fixture(scope="session")
def dag_runner(
    airflow_db: Path, vidjobs_simulator_session: SimulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., DagRunResult]:
    """Runs a DAG file of ``dagfiles/`` with dag.test() against the session's simulator.

    Returns a :class:`DagRunResult`. Connections come from the simulator as ``AIRFLOW_CONN_*``
    variables (set for the run only); failed tasks record their exception through the DAG's
    ``on_failure_callback`` into a folder read back here. Session-scoped so that a test module can run
    its DAG once in a module fixture and check the run from several tests.
    """
    sim = vidjobs_simulator_session

    def run(name: str, conf: dict[str, Any] | None = None) -> DagRunResult:
        failures_dir = tmp_path_factory.mktemp(f"{name}-failures")
        with pytest.MonkeyPatch.context() as env:
            for variable, value in sim.airflow_connections().items():
                env.setenv(variable, value)
            env.setenv("VIDJOBS_SIM_URL", sim.url)
            env.setenv("VIDJOBS_DAGTEST_FAILURES", str(failures_dir))
            module = _load_dag_module(name)
            dag_run = module.dag.test(run_conf=conf or {})
            return _collect(module, module.dag.dag_id, dag_run.run_id, failures_dir)

    return run


#: The simulator's phase of a job -> the status our XCom must report.
STATUS_OF_PHASE = {"queued": "queued", "running": "running", "completed": "succeeded", "failed": "failed"}


def _epoch(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


def _without_query(url: str | None) -> str | None:
    return None if url is None else url.split("?")[0]


def assert_job_matches_simulator(xcom: dict[str, Any], view: dict[str, Any], *, status: str | None = None) -> None:
    """A ``VideoJob`` XCom says what the simulator's control view of the same job says."""
    vendor = view["vendor"]
    assert xcom["schema_version"] == 1
    assert (xcom["provider"], xcom["job_id"]) == (view["api"], view["id"])
    assert xcom["status"] == (status or STATUS_OF_PHASE[view["phase"]])
    assert xcom["vendor_status"] == vendor["status"]
    from _apis import contract_api  # the prompt's place in the job JSON is a per-API fact

    assert (xcom["prompt"], xcom["model"]) == (contract_api(view["api"]).vendor_prompt(vendor), vendor["model"])
    video = xcom["video"]
    if view["api"] == "tensorpix":
        assert xcom["cost"] == vendor["cost"]
        wire = vendor["generated_video"]
        if wire is None:
            assert video is None
        else:
            assert video["video_id"] == wire["id"]
            assert (video["width"], video["height"], video["size_bytes"]) == (
                wire["width"],
                wire["height"],
                wire["size"],
            )
            assert (video["frame_count"], video["frame_rate"]) == (wire["n_frames"], wire["framerate"])
            assert _without_query(video["url"]) == _without_query(wire["file"])
            assert _without_query(video["thumbnail_url"]) == _without_query(wire["thumbnail"])
        return
    if view["api"] != "aihubmix":
        # Any other registered API: a completed job hands on a video URL its job JSON gives; others none.
        if view["phase"] == "completed":
            assert _without_query(video["url"]) in json.dumps(vendor), (video["url"], vendor)
        else:
            assert video is None
        return
    assert xcom["extras"]["size"] == vendor["size"]
    assert xcom["extras"]["seconds"] == float(vendor["seconds"])
    assert _epoch(xcom["created_at"]) == vendor["created_at"]
    assert _epoch(xcom["completed_at"]) == vendor["completed_at"]
    assert _epoch(xcom["expires_at"]) == vendor["expires_at"]
    assert xcom["error"] == vendor["error"]
    if view["phase"] == "completed":
        assert video["url"].endswith(view["paths"]["content"])
        assert (video["width"], video["height"]) == (vendor["width"], vendor["height"])
    else:
        assert video is None


@pytest.fixture
def matches_simulator() -> Callable[..., None]:
    """:func:`assert_job_matches_simulator`, for the test modules of this directory."""
    return assert_job_matches_simulator
