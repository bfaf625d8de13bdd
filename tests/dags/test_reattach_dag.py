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
