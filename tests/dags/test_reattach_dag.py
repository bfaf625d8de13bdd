"""Re-attach through dag.test() (dagfiles/vidjobs_reattach.py): real tries of real task instances, with
Airflow clearing their XComs between tries and the record kept in Airflow's own store."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

pytestmark = pytest.mark.dagtest


def jobs_with_prompt(sim: SimulatorHandle, prompt: str) -> list[dict[str, Any]]:
    return [job for job in sim.control.jobs(api="aihubmix") if prompt in job["vendor"]["prompt"]]


@pytest.fixture(scope="module")
def run(dag_runner: Any, vidjobs_simulator_session: SimulatorHandle) -> tuple[Any, str]:
    prompt = f"reattach {uuid.uuid4().hex}"
    return dag_runner("vidjobs_reattach", conf={"prompt": prompt}), prompt


def test_retries_re_attach_to_the_one_job_and_the_last_try_returns_it(
    run: tuple[Any, str], vidjobs_simulator_session: SimulatorHandle
) -> None:
    result, prompt = run
    assert result.states["same_request"] == "success"
    jobs = jobs_with_prompt(vidjobs_simulator_session, f"{prompt} (same request)")
    assert len(jobs) == 1  # one video paid for over three tries
    assert result.xcom("same_request")["job_id"] == jobs[0]["id"]
    assert result.xcom("same_request")["status"] == "succeeded"


def test_a_prompt_that_changed_between_tries_pays_for_a_second_video(
    run: tuple[Any, str], vidjobs_simulator_session: SimulatorHandle
) -> None:
    result, prompt = run
    assert result.states["new_prompt"] == "success"
    jobs = jobs_with_prompt(vidjobs_simulator_session, prompt + " (take")
    assert sorted(job["vendor"]["prompt"] for job in jobs) == [f"{prompt} (take 1)", f"{prompt} (take 2)"]
    assert result.xcom("new_prompt")["prompt"] == f"{prompt} (take 2)"


def test_without_a_task_state_store_the_record_is_a_real_variable(
    dag_runner: Any, vidjobs_simulator_session: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow 3.1/3.2's path, forced on this Airflow: the record goes through the SDK's Variable API."""
    from airflow.models.variable import Variable as VariableModel
    from airflow.utils.session import create_session

    from airflow_provider_vidjobs import reattach

    real_store_for = reattach.store_for
    monkeypatch.setattr(
        reattach,
        "store_for",
        lambda context: real_store_for({k: v for k, v in context.items() if k != "task_state_store"}),
    )
    prompt = f"reattach variable {uuid.uuid4().hex}"
    result = dag_runner("vidjobs_reattach", conf={"prompt": prompt})
    assert result.states["same_request"] == "success"
    [job] = jobs_with_prompt(vidjobs_simulator_session, f"{prompt} (same request)")
    assert result.xcom("same_request")["job_id"] == job["id"]
    with create_session() as session:
        rows = [row for row in session.query(VariableModel) if row.key.startswith(reattach.VARIABLE_PREFIX)]
        records = [reattach.ReattachRecord.from_json(row.val) for row in rows]
    assert job["id"] in {record.job_id for record in records if record is not None}


@pytest.mark.parametrize("lost_answers", [1, 2])
def test_a_create_whose_answer_was_lost_is_paid_for_once(
    dag_runner: Any, vidjobs_simulator_session: SimulatorHandle, lost_answers: int
) -> None:
    """Issue 22: a reset after the vendor made the job (once, or on every create sent) still pays once."""
    sim = vidjobs_simulator_session
    prompt = f"lost create {uuid.uuid4().hex}"
    rule = {"kind": "reset", "reset_after_bytes": 10, "api": "aihubmix", "method": "POST", "count": lost_answers}
    sim.control.add_faults(rule)
    try:
        result = dag_runner("vidjobs_lost_create", conf={"prompt": prompt})
    finally:
        sim.control.clear_faults()
    assert result.states["create"] == "success"
    jobs = jobs_with_prompt(sim, prompt)
    assert len(jobs) == 1  # try 1's job, found by try 2 in the list: one video paid for
    assert result.xcom("create")["job_id"] == jobs[0]["id"]
    assert result.xcom("create")["status"] == "succeeded"
