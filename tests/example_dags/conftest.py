"""The example DAGs (``example_dags/``) run through dag.test() against the simulator.

They need a metadata DB and ``DAGS_FOLDER`` = ``example_dags/`` (dag.test() writes the DAG from its
bundle to the DB). Other test directories configure Airflow for their own DB and DAG folder (see
``tests/dags/conftest.py``), so this directory does not touch the environment when it is imported: the
module-scoped ``example_airflow`` fixture points Airflow at a private home while one test module runs,
and puts the previous settings back afterwards. Test modules here import Airflow inside tests and
fixtures, never at import time.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"

#: Polls every half second: simulated jobs take seconds.
POLL_SECONDS = "0.5"


@dataclass
class ExampleAirflow:
    """The private Airflow home of this directory and the example DAGs parsed from ``example_dags/``."""

    home: Path
    dagbag: Any


@pytest.fixture(scope="module")
def example_airflow() -> Iterator[ExampleAirflow]:
    """A fresh SQLite metadata DB (~4 s) with ``DAGS_FOLDER`` = ``example_dags/``, for one test module."""
    home = Path(tempfile.mkdtemp(prefix="vidjobs-example-dags-home-"))
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "VIDJOBS_EXAMPLE_POLL_SECONDS": POLL_SECONDS,
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    _reconfigure_airflow()
    try:
        from airflow import settings

        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow < 3.2
            from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
        from airflow.utils import db

        assert str(home) in str(settings.engine.url), f"Airflow is not using the test DB: {settings.engine.url}"
        db.initdb()
        yield ExampleAirflow(home=home, dagbag=DagBag(dag_folder=str(EXAMPLE_DAGS)))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reconfigure_airflow()  # back to the DB and folders of whoever configured Airflow before
        shutil.rmtree(home, ignore_errors=True)


def _reconfigure_airflow() -> None:
    """Rebuild Airflow's paths and DB engine from the environment (a first import reads it anyway)."""
    if "airflow.settings" in sys.modules:
        from airflow import settings

        settings.configure_vars()
        settings.reconfigure_orm()


@dataclass
class ExampleRun:
    """What one dag.test() run of an example DAG left in the DB."""

    run_id: str
    state: str
    states: dict[tuple[str, int], str]
    xcoms: dict[tuple[str, int, str], Any]
    asset_events: list[dict[str, Any]]

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        return self.xcoms[(task_id, map_index, key)]

    def mapped(self, task_id: str, key: str = "return_value") -> list[Any]:
        """A mapped task's XComs in map-index order."""
        found = {index: value for (task, index, name), value in self.xcoms.items() if (task, name) == (task_id, key)}
        return [found[index] for index in sorted(found)]


@pytest.fixture
def run_example(
    example_airflow: ExampleAirflow, vidjobs_simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., ExampleRun]:
    """Run an example DAG with dag.test() with both connections pointed at the (reset) simulator."""
    for name, value in vidjobs_simulator.airflow_connections().items():
        monkeypatch.setenv(name, value)

    def run(dag_id: str, conf: dict[str, Any]) -> ExampleRun:
        dag = example_airflow.dagbag.get_dag(dag_id)
        assert dag is not None, f"{dag_id} not found: {example_airflow.dagbag.import_errors}"
        dag_run = dag.test(run_conf=conf)
        return _collect(dag_id, dag_run.run_id)

    return run


def _collect(dag_id: str, run_id: str) -> ExampleRun:
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        assert run is not None
        states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances(session=session)}
        xcoms = {
            (row.task_id, row.map_index, row.key): XComModel.deserialize_value(row)
            for row in session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id))
        }
        events = session.scalars(
            select(AssetEvent).where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
        )
        asset_events = [
            {"uri": event.uri, "task_id": event.source_task_id, "map_index": event.source_map_index, **event.extra}
            for event in events
        ]
        return ExampleRun(run_id, str(run.state), states, xcoms, asset_events)


@pytest.fixture
def finish_after_first_check(vidjobs_simulator: SimulatorHandle) -> Callable[..., Any]:
    """``with finish_after_first_check(job_id, in_s=1.5):`` keeps a running job running until the API
    has been asked about it once (the sensor's check before it defers), then lets it finish ``in_s``
    seconds later. So the deferrable path is taken however long the run takes to start."""
    control = vidjobs_simulator.control

    @contextmanager
    def release(job_id: str, in_s: float = 1.5) -> Iterator[threading.Event]:
        released = threading.Event()
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                counters = control.stats()["jobs"].get(job_id, {}).get("endpoints", {})
                if sum(endpoint["requests"] for endpoint in counters.values()):
                    view = control.job(job_id)
                    ran = control.now() - view["created_at"] - view["timeline"]["queued_s"]
                    control.update_job(job_id, running_s=max(ran, 0.0) + in_s)
                    released.set()
                    return
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, name=f"release {job_id}", daemon=True)
        watcher.start()
        try:
            yield released
        finally:
            stop.set()
            watcher.join(5)

    return release
