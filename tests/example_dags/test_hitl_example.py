"""hitl_pick_a_variant: three variants are made, a scripted person picks Variant 2 (as the REST API
records an answer), and only that video is downloaded; without the HITL operators the DAG skips itself.

Airflow is imported inside the tests (see this directory's conftest).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.dagtest

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "hitl_pick_a_variant.py"


def test_a_person_picks_variant_2_and_only_it_is_downloaded(run_example, vidjobs_simulator, tmp_path: Path) -> None:
    from airflow_provider_vidjobs.testing.hitl import answer_when_asked

    out = tmp_path / "videos"
    conf = {
        "prompt": "A lighthouse in fog",
        "output_dir": str(out),
        "extra_params": {"sim": {"queued_s": 0.1, "running_s": 1.0}},
    }
    with answer_when_asked(
        "hitl_pick_a_variant", "choose_variant", ["Variant 2"], user="tester", timeout=300
    ) as script:
        run = run_example("hitl_pick_a_variant", conf)
    assert script.error is None, script.error
    assert script.answered_run_id == run.run_id

    assert run.state == "success", run.states
    jobs = [run.xcom(f"create_variant_{n}") for n in (1, 2, 3)]
    assert len({job["job_id"] for job in jobs}) == 3  # three videos made, each once
    assert len(vidjobs_simulator.control.jobs("aihubmix")) == 3
    assert [job["prompt"].split(", ", 1)[0] for job in jobs] == [conf["prompt"]] * 3
    answer = run.xcom("choose_variant")
    assert answer["chosen_options"] == ["Variant 2"]
    assert answer["responded_by_user"]["name"] == "tester"
    assert run.xcom("chosen_job")["job_id"] == jobs[1]["job_id"]

    download = run.xcom("download_chosen")
    assert download["job_id"] == jobs[1]["job_id"]
    (written,) = out.iterdir()  # the other two were never downloaded
    assert str(written) == download["path"]
    assert hashlib.sha256(written.read_bytes()).hexdigest() == download["sha256"]


def test_without_the_hitl_operators_the_dag_says_so_and_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import AirflowSkipException

    monkeypatch.setitem(sys.modules, "airflow.providers.standard.operators.hitl", None)  # import fails
    spec = importlib.util.spec_from_file_location("hitl_example_without_hitl", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.HITLOperator is None
    assert list(module.dag.task_dict) == ["hitl_unavailable"]
    task: Any = module.dag.task_dict["hitl_unavailable"]
    with pytest.raises(AirflowSkipException, match="human-in-the-loop operators"):
        task.python_callable()
