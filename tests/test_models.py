"""The normalized model: terminal statuses, UTC times, and the versioned XCom form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from airflow_provider_vidjobs.models import (
    SCHEMA_VERSION,
    TERMINAL_STATUSES,
    GeneratedVideo,
    JobError,
    JobKind,
    JobStatus,
    VideoJob,
)


def full_job(**changes: object) -> VideoJob:
    fields: dict[str, object] = {
        "provider": "tensorpix",
        "job_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "status": JobStatus.SUCCEEDED,
        "vendor_status": "Done",
        "progress": 100.0,
        "prompt": "a red fox running through snow",
        "model": "wan-2.2",
        "kind": JobKind.IMAGE_TO_VIDEO,
        "created_at": datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        "started_at": datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC),
        "completed_at": datetime(2025, 3, 1, 12, 1, 30, 250000, tzinfo=UTC),
        "expires_at": datetime(2025, 3, 2, 12, 1, 30, tzinfo=UTC),
        "video": GeneratedVideo(
            url="https://storage.example.com/v/abc.mp4?X-Amz-Signature=1",
            thumbnail_url="https://storage.example.com/v/abc.jpg",
            width=1280,
            height=720,
            duration_seconds=5.042,
            frame_rate=24.0,
            frame_count=121,
            size_bytes=4_200_000,
            video_id="9d3f8a1e-0000-4000-8000-000000000001",
        ),
        "cost": Decimal("12.50"),
        "error": None,
        "extras": {"type": "i2v", "input_image_count": 1, "nested": {"a": [1, 2]}},
    }
    fields.update(changes)
    return VideoJob.model_validate(fields)


# ----- statuses ---------------------------------------------------------------------------------


def test_terminal_statuses_are_exactly_succeeded_failed_cancelled():
    assert frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}) == TERMINAL_STATUSES
    assert {s for s in JobStatus if s.is_terminal} == set(TERMINAL_STATUSES)


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.UNKNOWN])
def test_unknown_queued_and_running_are_not_terminal(status):
    assert not status.is_terminal
    assert not full_job(status=status).is_terminal


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
def test_job_is_terminal_follows_its_status(status):
    assert full_job(status=status).is_terminal


def test_statuses_and_kinds_are_plain_strings():
    assert JobStatus("succeeded") is JobStatus.SUCCEEDED
    assert json.dumps([JobStatus.RUNNING, JobKind.REMIX]) == '["running", "remix"]'


# ----- times ------------------------------------------------------------------------------------


def test_naive_times_are_taken_as_utc():
    job = full_job(created_at=datetime(2025, 3, 1, 12, 0))
    assert job.created_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert job.created_at.utcoffset() == timedelta(0)


def test_other_timezones_are_converted_to_utc_keeping_the_instant():
    plus_two = timezone(timedelta(hours=2))
    job = full_job(started_at=datetime(2025, 3, 1, 14, 0, tzinfo=plus_two))
    assert job.started_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert job.started_at.tzinfo is UTC


def test_iso_strings_become_aware_utc_times():
    job = full_job(completed_at="2025-03-01T07:00:00-05:00", expires_at="2025-03-01T12:00:00")
    assert job.completed_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert job.completed_at.tzinfo is UTC
    assert job.expires_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_missing_times_stay_none():
    job = VideoJob(provider="aihubmix", job_id="v1", status=JobStatus.QUEUED)
    assert (job.created_at, job.started_at, job.completed_at, job.expires_at) == (None, None, None, None)


# ----- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("progress", [-0.1, 100.5])
def test_progress_outside_0_to_100_is_refused(progress):
    with pytest.raises(ValidationError):
        full_job(progress=progress)


def test_unknown_fields_are_refused_and_the_job_is_frozen():
    with pytest.raises(ValidationError):
        full_job(surprise=1)
    job = full_job()
    with pytest.raises(ValidationError):
        job.status = JobStatus.FAILED  # type: ignore[misc]


def test_cost_is_a_decimal_not_a_float():
    job = full_job(cost="0.1")
    assert job.cost == Decimal("0.1")
    assert isinstance(job.cost, Decimal)


# ----- XCom -------------------------------------------------------------------------------------


def test_to_xcom_is_json_native_and_versioned():
    data = full_job().to_xcom()
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert json.loads(json.dumps(data)) == data  # nothing but JSON types inside
    assert data["status"] == "succeeded"
    assert data["kind"] == "image-to-video"
    assert data["cost"] == "12.50"  # a decimal string: no float rounding of money
    assert data["completed_at"] == "2025-03-01T12:01:30.250000Z"
    assert data["video"]["width"] == 1280
    assert data["extras"] == {"type": "i2v", "input_image_count": 1, "nested": {"a": [1, 2]}}


@pytest.mark.parametrize(
    "job",
    [
        full_job(),
        full_job(
            status=JobStatus.FAILED,
            video=None,
            cost=None,
            error=JobError(code="moderation_blocked", message="The prompt was refused"),
        ),
        VideoJob(provider="aihubmix", job_id="dmlkZW8/+=%", status=JobStatus.UNKNOWN),
    ],
    ids=["succeeded", "failed", "minimal"],
)
def test_from_xcom_round_trips_through_json(job):
    data = json.loads(json.dumps(job.to_xcom()))
    again = VideoJob.from_xcom(data)
    assert again == job
    assert again.to_xcom() == job.to_xcom()
    assert isinstance(again.cost, Decimal | None)
    assert again.status is job.status


def test_from_xcom_does_not_change_its_input():
    data = full_job().to_xcom()
    before = json.dumps(data, sort_keys=True)
    VideoJob.from_xcom(data)
    assert json.dumps(data, sort_keys=True) == before


def test_from_xcom_without_a_version_reads_it_as_the_current_one():
    data = full_job().to_xcom()
    del data["schema_version"]
    assert VideoJob.from_xcom(data) == full_job()


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_from_xcom_with_another_schema_version_fails_clearly(version):
    data = {**full_job().to_xcom(), "schema_version": version}
    with pytest.raises(ValueError, match=r"schema_version") as info:
        VideoJob.from_xcom(data)
    message = str(info.value)
    assert repr(version) in message
    assert f"reads version {SCHEMA_VERSION}" in message
    assert "Upgrade airflow-provider-vidjobs" in message


# ----- text -------------------------------------------------------------------------------------


def test_summary_of_a_running_job_shows_progress_and_the_vendor_word():
    job = full_job(status=JobStatus.RUNNING, vendor_status="Generating", progress=45.4)
    assert job.summary() == "tensorpix job 3c90c3cc-0d44-4b50-8888-8dd25736052a: running 45% (API says 'Generating')"


def test_summary_of_a_failed_job_shows_the_error_and_no_progress():
    job = full_job(
        status=JobStatus.FAILED, vendor_status="failed", progress=80, error=JobError(code="E1", message="boom")
    )
    assert job.summary() == "tensorpix job 3c90c3cc-0d44-4b50-8888-8dd25736052a: failed - E1: boom"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (JobError(code="c", message="m"), "c: m"),
        (JobError(code="c"), "c"),
        (JobError(message="m"), "m"),
        (JobError(), "no details given by the API"),
    ],
)
def test_job_error_text(error, text):
    assert str(error) == text
