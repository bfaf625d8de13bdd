"""Regressions found by the example DAGs: templated extra_params, and mapped waits reading their own job id."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import JobFailedError
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator, as_params
from airflow_provider_vidjobs.triggers.video_job import make_event


@pytest.mark.parametrize(
    ("rendered", "expected"),
    [
        (None, {}),
        ("", {}),
        ({"sim": {"queued_s": 1}}, {"sim": {"queued_s": 1}}),
        ('{"quality": "high"}', {"quality": "high"}),  # JSON text
        ("{'sim': {'running_s': 2}}", {"sim": {"running_s": 2}}),  # what Jinja renders for a dict param
    ],
)
def test_extra_params_accepts_what_a_template_renders(rendered: Any, expected: dict[str, Any]) -> None:
    assert as_params(rendered) == expected


@pytest.mark.parametrize("rendered", ["not a dict", "[1, 2]", 42])
def test_extra_params_that_are_not_a_dict_are_refused_clearly(rendered: Any) -> None:
    with pytest.raises(ValueError, match="extra_params"):
        as_params(rendered)


def test_a_template_string_is_accepted_at_parse_time() -> None:
    op = AIHubMixCreateVideoOperator(task_id="t", prompt="p", extra_params="{{ params.extra_params }}")
    assert op.extra_params == "{{ params.extra_params }}"


class _MappedTI:
    """A mapped task instance: xcom_pull returns every instance's id unless asked for its own map index."""

    map_index = 1
    ids = ["id-of-instance-0", "id-of-instance-1"]

    def xcom_pull(self, *, task_ids: str, key: str, map_indexes: int | None = None) -> Any:
        return self.ids if map_indexes is None else self.ids[map_indexes]


def _job(job_id: str, status: JobStatus) -> VideoJob:
    return VideoJob(provider="aihubmix", job_id=job_id, status=status)


def test_a_mapped_wait_checks_the_event_against_its_own_job_id() -> None:
    op = AIHubMixCreateVideoOperator(task_id="create", prompt="p", wait_for_completion=True)
    event = make_event(
        "succeeded",
        provider="aihubmix",
        job_id="id-of-instance-1",
        message="done",
        job=_job("id-of-instance-1", JobStatus.SUCCEEDED),
    )
    result = op.execute_complete({"ti": _MappedTI()}, event)
    assert result["job_id"] == "id-of-instance-1"

    failed = make_event(
        "failed",
        provider="aihubmix",
        job_id="id-of-instance-1",
        message="failed",
        job=_job("id-of-instance-1", JobStatus.FAILED),
    )
    with pytest.raises(JobFailedError):
        op.execute_complete({"ti": _MappedTI()}, failed)


@pytest.mark.parametrize("seconds", [8, "8", None])
@pytest.mark.parametrize("reference", [None, b"\x89PNG image", "https://images.example.com/a.png", {"file_id": "f1"}])
def test_the_alias_fingerprints_requests_as_the_old_operator_did(seconds: Any, reference: Any) -> None:
    """Records written before GenerateVideoOperator still match: the request dict is the old one, field by field."""
    from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook, to_input_reference
    from airflow_provider_vidjobs.operators.generate import create_request
    from airflow_provider_vidjobs.reattach import request_fingerprint

    op = AIHubMixCreateVideoOperator(
        task_id="t", prompt="p", model="sora-2", seconds=seconds, input_reference=reference, extra_params='{"a": 1}'
    )
    hook = AIHubMixHook("aihubmix_default")
    old = {  # what AIHubMixCreateVideoOperator.execute fingerprinted before issue 23
        "prompt": "p",
        "model": "sora-2",
        "seconds": seconds,
        "size": None,
        "input_reference": to_input_reference(reference),
        "extra_params": {"a": 1},
    }
    assert request_fingerprint(hook, create_request("aihubmix", op.request_fields())) == request_fingerprint(hook, old)
