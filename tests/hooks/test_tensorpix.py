"""TensorPix: the vendor's example document, realistic jobs, every mapping rule, UUID ids, generated videos."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import InvalidResponseError
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.models import GeneratedVideo, JobError, JobKind, JobStatus, VideoJob

pytestmark = pytest.mark.usefixtures("connections", "leak_guard")

JOB_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
VIDEO_ID = "9d3f8a1e-5b7c-4e2a-9f10-2b6c8d4e7a01"
FILE_URL = (
    "https://tensorpix-gen.s3.eu-central-1.amazonaws.com/videos/9d3f8a1e.mp4"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=5e1d"
)
THUMB_URL = "https://tensorpix-gen.s3.eu-central-1.amazonaws.com/thumbs/9d3f8a1e.jpg?X-Amz-Signature=77aa"


def job_doc(**changes: Any) -> dict[str, Any]:
    """A TensorPix job still generating, as the documented shape describes it."""
    doc: dict[str, Any] = {
        "id": JOB_ID,
        "prompt": "A paper boat drifting down a rainy street, cinematic",
        "type": "t2v",
        "status": "processing",
        "cost": "4.00",
        "model": "wan-2.2-t2v",
        "generated_video": None,
        "input_images": [],
        "progress": 37.5,
        "started_at": "2025-03-01T12:00:05.120000Z",
        "options": {"duration": 5, "resolution": "720p"},
    }
    doc.update(changes)
    return doc


def generated_video(**changes: Any) -> dict[str, Any]:
    video: dict[str, Any] = {
        "id": VIDEO_ID,
        "name": "paper-boat.mp4",
        "created_at": "2025-03-01T12:01:41Z",
        "job": JOB_ID,
        "uploaded_video": None,
        "width": 1280,
        "height": 720,
        "n_frames": 121,
        "framerate": 24.0,
        "size": 4_718_592,
        "file": FILE_URL,
        "thumbnail": THUMB_URL,
    }
    video.update(changes)
    return video


def parse(doc: dict[str, Any], **hook_kwargs: Any) -> VideoJob:
    return TensorPixHook(**hook_kwargs).parse_job(doc, JOB_ID)


# ----- the vendor's example ---------------------------------------------------------------------


@pytest.mark.usefixtures("fresh_status_warnings")
def test_vendor_example_document_field_by_field(api, load_example, caplog):
    doc = load_example("tensorpix_get_video_gen_job.json")
    api.script(api.json(200, doc))
    job = TensorPixHook().get_job(doc["id"])

    assert api.paths == [f"/api/video-gen/jobs/{JOB_ID}/"]
    assert job.provider == "tensorpix"
    assert job.job_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    # "<string>" is no status we know, but generated_video.file is set: a file present means done
    assert job.vendor_status == "<string>"
    assert job.status is JobStatus.SUCCEEDED
    assert job.is_terminal
    assert job.progress == 50.0
    assert job.prompt == "<string>"
    assert job.model == "<string>"
    assert job.kind is JobKind.IMAGE_TO_VIDEO
    assert job.created_at is None  # TensorPix documents no job creation time
    assert job.started_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert job.completed_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)  # the video's created_at
    assert job.expires_at is None
    assert job.cost is None  # "<string>" is not a decimal: dropped, not a failure
    assert job.error is None
    assert job.extras == {"type": "i2v", "input_image_count": 1, "video_name": "<string>"}

    video = job.video
    assert video is not None
    assert video.url == "<string>"
    assert video.thumbnail_url == "<string>"
    assert video.width == 2080  # the generated video's, not uploaded_video's 123
    assert video.height == 2080
    assert video.frame_count == 1073741824
    assert video.frame_rate == 500.0
    assert video.duration_seconds == 2147483.648  # n_frames / framerate
    assert video.size_bytes == 200000000050
    assert video.video_id == "3c90c3cc-0d44-4b50-8888-8dd25736052a"

    for field in ("created_at", "started_at", "completed_at"):
        value = getattr(job, field)
        assert value is None or value.tzinfo is UTC
    warnings = [r for r in caplog.records if r.name == "airflow_provider_vidjobs.status"]
    assert len(warnings) == 1
    assert "'<string>'" in warnings[0].getMessage()
    assert VideoJob.from_xcom(job.to_xcom()) == job


def test_vendor_example_without_a_video_is_still_running(load_example):
    doc = load_example("tensorpix_get_video_gen_job.json")
    doc["generated_video"] = None
    doc["status"] = "generating"
    job = parse(doc)
    assert job.status is JobStatus.RUNNING
    assert job.video is None
    assert job.completed_at is None
    assert job.extras == {"type": "i2v", "input_image_count": 1}


# ----- realistic documents ----------------------------------------------------------------------


def test_completed_job_with_a_real_file_url(api):
    doc = job_doc(status="completed", progress=100, generated_video=generated_video())
    api.script(api.json(200, doc))
    job = TensorPixHook().get_job(JOB_ID)
    assert job == VideoJob(
        provider="tensorpix",
        job_id=JOB_ID,
        status=JobStatus.SUCCEEDED,
        vendor_status="completed",
        progress=100.0,
        prompt="A paper boat drifting down a rainy street, cinematic",
        model="wan-2.2-t2v",
        kind=JobKind.TEXT_TO_VIDEO,
        started_at=datetime(2025, 3, 1, 12, 0, 5, 120000, tzinfo=UTC),
        completed_at=datetime(2025, 3, 1, 12, 1, 41, tzinfo=UTC),
        video=GeneratedVideo(
            url=FILE_URL,
            thumbnail_url=THUMB_URL,
            width=1280,
            height=720,
            duration_seconds=5.042,
            frame_rate=24.0,
            frame_count=121,
            size_bytes=4_718_592,
            video_id=VIDEO_ID,
        ),
        cost=Decimal("4.00"),
        extras={"type": "t2v", "input_image_count": 0, "video_name": "paper-boat.mp4"},
    )
    assert str(job.cost) == "4.00"


def test_running_job(api):
    api.script(api.json(200, job_doc(status="Generating")))
    job = TensorPixHook().get_job(JOB_ID)
    assert job.status is JobStatus.RUNNING
    assert job.vendor_status == "Generating"
    assert job.progress == 37.5
    assert job.video is None
    assert job.completed_at is None
    assert job.error is None
    assert job.extras == {"type": "t2v", "input_image_count": 0}


def test_aget_job_reads_the_same_job(api):
    doc = job_doc(status="completed", generated_video=generated_video())
    api.script(api.json(200, doc))
    async_job = asyncio.run(TensorPixHook().aget_job(JOB_ID))
    sync_job = TensorPixHook().get_job(JOB_ID)
    assert async_job == sync_job
    assert async_job.status is JobStatus.SUCCEEDED
    assert [r.headers["Authorization"] for r in api.requests] == ["Token canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"] * 2


# ----- status rules -----------------------------------------------------------------------------

SPELLINGS = {
    JobStatus.QUEUED: ["queued", "PENDING", "In_Queue", "waiting", "Created"],
    JobStatus.RUNNING: ["processing", "IN_PROGRESS", "in progress", "Running", "started", "GENERATING"],
    JobStatus.SUCCEEDED: ["completed", "Complete", "DONE", "finished", "Succeeded", "success"],
    JobStatus.FAILED: ["failed", "ERROR", "Errored", "expired", "EXPIRED"],
    JobStatus.CANCELLED: ["cancelled", "Canceled", "ABORTED"],
}


@pytest.mark.parametrize(
    ("raw", "status"), [(raw, status) for status, raws in SPELLINGS.items() for raw in raws], ids=str
)
def test_status_spellings(raw, status):
    job = parse(job_doc(status=raw))
    assert job.status is status
    assert job.vendor_status == raw
    assert job.is_terminal is status.is_terminal


@pytest.mark.parametrize("raw", ["processing", "Upscaling", None, "queued", ""])
def test_a_video_file_means_succeeded_whatever_the_status_says(raw):
    job = parse(job_doc(status=raw, generated_video=generated_video()))
    assert job.status is JobStatus.SUCCEEDED
    assert job.completed_at == datetime(2025, 3, 1, 12, 1, 41, tzinfo=UTC)
    assert job.video.url == FILE_URL


@pytest.mark.parametrize(("raw", "status"), [("failed", JobStatus.FAILED), ("cancelled", JobStatus.CANCELLED)])
def test_failed_or_cancelled_wins_over_a_file(raw, status):
    job = parse(job_doc(status=raw, generated_video=generated_video()))
    assert job.status is status
    assert job.completed_at is None


@pytest.mark.parametrize("file", [None, ""])
def test_a_video_object_without_a_file_is_not_done(file):
    job = parse(job_doc(status="processing", generated_video=generated_video(file=file)))
    assert job.status is JobStatus.RUNNING
    assert job.video is not None
    assert job.video.url in (None, "")
    assert job.completed_at is None


@pytest.mark.usefixtures("fresh_status_warnings")
def test_unknown_status_is_still_running_and_logged_once(api, caplog):
    caplog.set_level(logging.WARNING, logger="airflow_provider_vidjobs.status")
    api.script(api.json(200, job_doc(status="Upscaling-Stage-2")))
    hook = TensorPixHook()
    jobs = [hook.get_job(JOB_ID) for _ in range(3)]
    assert {j.status for j in jobs} == {JobStatus.UNKNOWN}
    assert not jobs[0].is_terminal
    assert jobs[0].vendor_status == "Upscaling-Stage-2"
    records = [r for r in caplog.records if r.name == "airflow_provider_vidjobs.status"]
    assert len(records) == 1
    assert "tensorpix sent the status 'Upscaling-Stage-2'" in records[0].getMessage()


def test_status_overrides_on_the_hook(api):
    api.script(api.json(200, job_doc(status="Rendered")), api.json(200, job_doc(status="done")))
    hook = TensorPixHook(status_overrides={"rendered": "succeeded", "DONE": "failed"})
    assert hook.get_job(JOB_ID).status is JobStatus.SUCCEEDED
    assert hook.get_job(JOB_ID).status is JobStatus.FAILED


def test_bad_status_override_fails_when_the_hook_is_made():
    with pytest.raises(ValueError, match=r"status_overrides maps 'Rendered' to 'finished', which is not a job status"):
        TensorPixHook(status_overrides={"Rendered": "finished"})


# ----- field rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("t2v", JobKind.TEXT_TO_VIDEO),
        ("T2V", JobKind.TEXT_TO_VIDEO),
        ("i2v", JobKind.IMAGE_TO_VIDEO),
        ("v2v", None),
        (None, None),
    ],
)
def test_kind(raw, kind):
    assert parse(job_doc(type=raw)).kind is kind


@pytest.mark.parametrize(
    ("frames", "rate", "duration"),
    [(121, 24.0, 5.042), (240, "30", 8.0), (None, 24, None), (121, None, None), (121, 0, None), ("<int>", 24, None)],
)
def test_duration_from_frames_and_rate(frames, rate, duration):
    job = parse(job_doc(status="completed", generated_video=generated_video(n_frames=frames, framerate=rate)))
    assert job.video.duration_seconds == duration


@pytest.mark.parametrize(
    ("raw", "cost"),
    [("4.00", Decimal("4.00")), ("0.35", Decimal("0.35")), (3, Decimal(3)), (None, None), ("<string>", None)],
)
def test_cost_is_a_decimal(raw, cost):
    job = parse(job_doc(cost=raw))
    assert job.cost == cost
    if cost is not None:
        assert isinstance(job.cost, Decimal)
        assert str(job.cost) == str(cost)


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        ("2025-03-01T14:00:05+02:00", datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)),
        ("2025-03-01T12:00:05", datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)),
        ("2025-03-01T12:00:05Z", datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)),
        (None, None),
        ("<date-time>", None),
    ],
)
def test_times_are_utc(started, expected):
    job = parse(job_doc(started_at=started, status="done", generated_video=generated_video(created_at=started)))
    assert job.started_at == expected
    assert job.completed_at == expected
    if expected is not None:
        assert job.started_at.tzinfo is UTC
        assert job.completed_at.tzinfo is UTC


@pytest.mark.parametrize(("raw", "progress"), [(0, 0.0), ("45.5", 45.5), (150, 100.0), (-1, 0.0), (None, None)])
def test_progress_is_0_to_100(raw, progress):
    assert parse(job_doc(progress=raw)).progress == progress


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"error": "CUDA out of memory"}, JobError(message="CUDA out of memory")),
        ({"error": {"code": "oom", "message": "CUDA OOM"}}, JobError(code="oom", message="CUDA OOM")),
        ({"error": {"code": 507, "detail": "no GPU"}}, JobError(code="507", message="no GPU")),
        ({"error_message": "prompt rejected"}, JobError(message="prompt rejected")),
        ({"failure_reason": "timeout"}, JobError(message="timeout")),
        ({"detail": "Job failed."}, JobError(message="Job failed.")),
        ({"error_code": 17}, JobError(code="17")),
        ({}, None),
        ({"error": None, "error_message": ""}, None),
    ],
)
def test_error_of_a_failed_job(extra, error):
    job = parse(job_doc(status="failed", **extra))
    assert job.status is JobStatus.FAILED
    assert job.error == error


def test_no_error_is_reported_while_running():
    assert parse(job_doc(status="processing", error="transient hiccup")).error is None


def test_input_images_are_counted_and_unknown_keys_ignored():
    images = [{"id": VIDEO_ID, "file": "https://x/1.png", "name": "1.png"}, {"id": JOB_ID, "file": None, "name": None}]
    job = parse(job_doc(type="i2v", input_images=images, eta_s=30, something_new={"a": 1}))
    assert job.extras == {"type": "i2v", "input_image_count": 2}
    assert job.kind is JobKind.IMAGE_TO_VIDEO


def test_missing_optional_keys_are_fine():
    job = parse({"id": JOB_ID})
    assert job.job_id == JOB_ID
    assert job.status is JobStatus.UNKNOWN
    assert job.vendor_status is None
    assert (job.prompt, job.model, job.kind, job.cost, job.video, job.error) == (None,) * 6
    assert job.extras == {}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"generated_video": "https://x/video.mp4"}, "generated_video"),
        ({"generated_video": ["x"]}, "generated_video"),
        ({"input_images": "none"}, "input_images"),
        ({"id": None}, "id"),
    ],
)
def test_shapes_that_do_not_validate_are_invalid_responses(api, leak_guard, change, where):
    api.script(api.json(200, job_doc(**change)))
    with leak_guard.raises(InvalidResponseError) as info:
        TensorPixHook().get_job(JOB_ID)
    assert f"({where}" in str(info.value)
    assert f"tensorpix job {JOB_ID}" in str(info.value)


# ----- ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["video_123", "3c90c3cc-0d44-4b50-8888", "3c90c3cc-0d44-4b50-8888-8dd25736052g", "../../api/users/", "1234"],
)
def test_non_uuid_ids_are_refused_before_any_request(api, fetch_job, bad):
    with pytest.raises(ValueError, match="is not a TensorPix job id: TensorPix ids are UUIDs"):
        fetch_job(TensorPixHook(), bad)
    assert api.requests == []


@pytest.mark.parametrize(
    "given",
    [
        "3C90C3CC-0D44-4B50-8888-8DD25736052A",
        "{3c90c3cc-0d44-4b50-8888-8dd25736052a}",
        "urn:uuid:3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "3c90c3cc0d444b5088888dd25736052a",
        " 3c90c3cc-0d44-4b50-8888-8dd25736052a\n",
    ],
)
def test_uuid_ids_are_sent_in_canonical_lowercase_form(api, fetch_job, given):
    api.script(api.json(200, job_doc()))
    fetch_job(TensorPixHook(), given)
    assert api.paths == ["/api/video-gen/jobs/3c90c3cc-0d44-4b50-8888-8dd25736052a/"]
    assert TensorPixHook().validate_job_id(given) == JOB_ID


def test_an_upstream_xcom_is_accepted(api):
    upstream = parse(job_doc()).to_xcom()
    api.script(api.json(200, job_doc()))
    assert TensorPixHook().get_job(upstream).job_id == JOB_ID
    assert api.paths == [f"/api/video-gen/jobs/{JOB_ID}/"]


# ----- generated videos -------------------------------------------------------------------------


def test_get_generated_video_fetches_a_fresh_url(api):
    api.script(api.json(200, generated_video(file=FILE_URL + "&fresh=1")))
    video = TensorPixHook().get_generated_video(VIDEO_ID.upper())
    assert api.paths == [f"/api/video-gen/videos/{VIDEO_ID}/"]
    assert api.requests[0].headers["Authorization"] == "Token canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"
    assert video == GeneratedVideo(
        url=FILE_URL + "&fresh=1",
        thumbnail_url=THUMB_URL,
        width=1280,
        height=720,
        duration_seconds=5.042,
        frame_rate=24.0,
        frame_count=121,
        size_bytes=4_718_592,
        video_id=VIDEO_ID,
    )


def test_aget_generated_video(api):
    api.script(api.json(200, generated_video()))
    video = asyncio.run(TensorPixHook().aget_generated_video(VIDEO_ID))
    assert video.url == FILE_URL
    assert api.paths == [f"/api/video-gen/videos/{VIDEO_ID}/"]


def test_generated_video_with_a_bad_shape_is_an_invalid_response(api, leak_guard):
    api.script(api.json(200, ["not", "an", "object"]))
    with leak_guard.raises(InvalidResponseError, match="generated-video JSON does not have the documented shape"):
        TensorPixHook().get_generated_video(VIDEO_ID)


def test_generated_video_id_must_be_a_uuid(api):
    with pytest.raises(ValueError, match="UUIDs"):
        TensorPixHook().get_generated_video("paper-boat.mp4")
    assert api.requests == []
