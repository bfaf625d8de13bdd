"""OpenLineage events of a real run (dagfiles/vidjobs_lineage.py through dag.test()), written by the
OpenLineage provider's own ``file`` transport: the create's input image, the job's run facet on the
create, on the deferred wait (resumed as a new operator object) and on the download, whose COMPLETE
event names the downloaded file as an output dataset.

The run is a subprocess: the provider reads its configuration once per process (``functools.cache``)
and registers its listener when Airflow's plugins load, which another test of the session may
already have done without it. It shares this session's metadata DB and simulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

pytestmark = pytest.mark.dagtest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = Path(__file__).resolve().parent / "dagfiles"
RUN = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("vidjobs_dagtest_lineage", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("DAG RUN STATE", module.dag.test(run_conf=json.loads(sys.argv[2])).state)
"""


def openlineage_env(events: Path) -> dict[str, str]:
    """The provider's file transport, one JSON event per line, emitted in a thread (no fork of the test)."""
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "vidjobs-test",
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def task_events(events: list[dict[str, Any]], dag_id: str, task_id: str, event_type: str) -> list[dict[str, Any]]:
    name = f"{dag_id}.{task_id}"
    return [e for e in events if e["job"]["name"] == name and e["eventType"] == event_type]


@pytest.fixture(scope="module")
def lineage_run(
    airflow_db: Path, vidjobs_simulator_session: SimulatorHandle, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    sim = vidjobs_simulator_session
    folder = tmp_path_factory.mktemp("lineage")
    image = folder / "reference.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"lighthouse" * 50)
    events = folder / "openlineage.jsonl"
    env = {
        **os.environ,
        **sim.airflow_connections(),
        **openlineage_env(events),
        "VIDJOBS_SIM_URL": sim.url,
        "VIDJOBS_DAGTEST_FAILURES": str(folder),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(DAG_FILES), os.environ.get("PYTHONPATH", "")]),
    }
    conf = {"image_path": str(image), "output_dir": str(folder / "videos")}
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(DAG_FILES / "vidjobs_lineage.py"), json.dumps(conf)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "DAG RUN STATE success" in done.stdout, done.stdout[-4000:] + done.stderr[-8000:]
    return {"events": read_events(events), "image": image, "videos": folder / "videos"}


def test_every_task_completes_with_the_vidjobs_run_facet(lineage_run: dict[str, Any]) -> None:
    events = lineage_run["events"]
    facets = {}
    for task_id in ("create", "wait", "download"):
        (complete,) = task_events(events, "vidjobs_lineage", task_id, "COMPLETE")
        facets[task_id] = complete["run"]["facets"]["vidjobs"]
    job_id = facets["create"]["jobId"]
    assert job_id
    for task_id, facet in facets.items():
        assert (facet["vendor"], facet["jobId"], facet["model"]) == ("aihubmix", job_id, "sora-2"), task_id
    # The wait resumed after deferring (a new operator object) and still knows the job and its timing.
    assert facets["wait"]["status"] == "succeeded"
    assert facets["wait"]["durationSeconds"] is not None
    assert facets["wait"]["durationSeconds"] >= 0
    assert "cost" not in facets["wait"]  # AIHubMix states no cost; OpenLineage leaves out what is None


def test_the_create_names_its_input_image(lineage_run: dict[str, Any]) -> None:
    events = lineage_run["events"]
    for event_type in ("START", "COMPLETE"):
        (event,) = task_events(events, "vidjobs_lineage", "create", event_type)
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [("file", str(lineage_run["image"]))]


def test_the_download_names_the_file_it_wrote(lineage_run: dict[str, Any]) -> None:
    (complete,) = task_events(lineage_run["events"], "vidjobs_lineage", "download", "COMPLETE")
    (written,) = lineage_run["videos"].iterdir()
    assert [(d["namespace"], d["name"]) for d in complete["outputs"]] == [("file", str(written))]
