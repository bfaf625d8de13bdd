"""AIHubMix (OpenAI-shaped Videos API): the example document, realistic videos, mapping rules, opaque ids."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import InvalidResponseError
from airflow_provider_vidjobs.hooks.aihubmix import STATUS_TABLE, AIHubMixHook
from airflow_provider_vidjobs.models import GeneratedVideo, JobError, JobKind, JobStatus, StatusMapper, VideoJob

pytestmark = pytest.mark.usefixtures("connections", "leak_guard")

CANARY_KEY = "canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"
VIDEO_ID = "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5"
CONTENT = f"https://aihubmix.com/v1/videos/{VIDEO_ID}/content"


def video_doc(**changes: Any) -> dict[str, Any]:
    """A completed video with every documented key (OpenAI's example, with its ``quality``)."""
    doc: dict[str, Any] = {
        "id": VIDEO_ID,
        "object": "video",
        "model": "sora-2",
        "status": "completed",
        "progress": 100,
        "created_at": 1758941485,
        "completed_at": 1758941611,
        "expires_at": 1759027885,
        "prompt": "A calico cat playing a piano on stage",
        "size": "1280x720",
        "seconds": "8",
        "quality": "standard",
        "remixed_from_video_id": None,
        "error": None,
    }
    doc.update(changes)
    return doc


def parse(doc: dict[str, Any], **hook_kwargs: Any) -> VideoJob:
    return AIHubMixHook(**hook_kwargs).parse_job(doc, str(doc.get("id")))


def test_documented_statuses():
    mapper = StatusMapper("aihubmix", STATUS_TABLE)
    assert mapper.map("queued") is JobStatus.QUEUED
    assert mapper.map("in_progress") is JobStatus.RUNNING
    assert mapper.map("completed") is JobStatus.SUCCEEDED
    assert mapper.map("failed") is JobStatus.FAILED
    assert AIHubMixHook.status_table() is STATUS_TABLE


# ----- the vendor's example ---------------------------------------------------------------------


def test_vendor_example_document_field_by_field(api, load_example, caplog):
    doc = load_example("aihubmix_retrieve_video.json")
    api.script(api.json(200, doc))
    job = AIHubMixHook().get_job(doc["id"])

    assert api.paths == ["/v1/videos/%3Cstring%3E"]  # the placeholder id, percent-encoded
    assert job.provider == "aihubmix"
    assert job.job_id == "<string>"
    # the example has no "status" key: unknown, which is not an end, and is not warned about
    assert job.vendor_status is None
    assert job.status is JobStatus.UNKNOWN
    assert not job.is_terminal
    assert job.progress == 100.0  # 123 clamped to 0-100
    assert job.prompt == "<string>"
    assert job.model == "<string>"
    assert job.kind is JobKind.REMIX  # remixed_from_video_id is set
    epoch_123 = datetime(1970, 1, 1, 0, 2, 3, tzinfo=UTC)  # 123 is a valid unix time
    assert job.created_at == epoch_123
    assert job.started_at is None
    assert job.completed_at == epoch_123
    assert job.expires_at == epoch_123
    assert job.video is None  # only a completed video has content to point at
    assert job.cost is None
    assert job.error == JobError(code="<string>", message="<string>")
    # "seconds": "<string>" is not a number: dropped; size is absent
    assert job.extras == {"remixed_from_video_id": "<string>"}
    for field in ("created_at", "completed_at", "expires_at"):
        assert getattr(job, field).tzinfo is UTC
    assert not [r for r in caplog.records if r.name == "airflow_provider_vidjobs.status"]
    assert VideoJob.from_xcom(job.to_xcom()) == job


def test_vendor_example_once_completed(load_example):
    doc = load_example("aihubmix_retrieve_video.json")
    doc.update(id="dmlkZW8tMTIz", status="completed", seconds="8", size="720x1280")
    job = parse(doc)
    assert job.status is JobStatus.SUCCEEDED
    assert job.video == GeneratedVideo(
        url="https://aihubmix.com/v1/videos/dmlkZW8tMTIz/content",
        thumbnail_url="https://aihubmix.com/v1/videos/dmlkZW8tMTIz/content?variant=thumbnail",
        width=720,
        height=1280,
        duration_seconds=8.0,
        video_id="dmlkZW8tMTIz",
    )


# ----- realistic documents ----------------------------------------------------------------------


def test_completed_video_with_all_documented_keys(api):
    api.script(api.json(200, video_doc()))
    job = AIHubMixHook().get_job(VIDEO_ID)
    assert job == VideoJob(
        provider="aihubmix",
        job_id=VIDEO_ID,
        status=JobStatus.SUCCEEDED,
        vendor_status="completed",
        progress=100.0,
        prompt="A calico cat playing a piano on stage",
        model="sora-2",
        kind=None,
        created_at=datetime(2025, 9, 27, 2, 51, 25, tzinfo=UTC),
        completed_at=datetime(2025, 9, 27, 2, 53, 31, tzinfo=UTC),
        expires_at=datetime(2025, 9, 28, 2, 51, 25, tzinfo=UTC),
        video=GeneratedVideo(
            url=CONTENT,
            thumbnail_url=f"{CONTENT}?variant=thumbnail",
            width=1280,
            height=720,
            duration_seconds=8.0,
            video_id=VIDEO_ID,
        ),
        error=None,
        extras={"size": "1280x720", "seconds": 8.0, "quality": "standard"},
    )
    assert job.is_terminal


def test_aihubmix_extra_keys_duration_width_height(api):
    doc = video_doc(size="720P", seconds=None, duration=5, width=1280, height=720, quality="high")
    doc.pop("seconds")
    api.script(api.json(200, doc))
    job = asyncio.run(AIHubMixHook().aget_job(VIDEO_ID))
    assert (job.video.width, job.video.height) == (1280, 720)  # from width/height, not "720P"
    assert job.video.duration_seconds == 5.0  # from duration when seconds is absent
    assert job.extras == {"size": "720P", "quality": "high"}


def test_seconds_wins_over_duration():
    assert parse(video_doc(seconds="12", duration=5)).video.duration_seconds == 12.0


@pytest.mark.parametrize(("raw", "seconds"), [("8", 8.0), (8, 8.0), (4.5, 4.5), (" 12 ", 12.0), ("<string>", None)])
def test_seconds_as_string_or_number(raw, seconds):
    job = parse(video_doc(seconds=raw))
    assert job.video.duration_seconds == seconds
    assert job.extras.get("seconds") == seconds


@pytest.mark.parametrize(
    ("size", "width", "height"),
    [
        ("1280x720", 1280, 720),
        ("720x1280", 720, 1280),
        ("1024x1792", 1024, 1792),
        ("1792x1024", 1792, 1024),
        ("720P", None, None),
        ("1080p", None, None),
        (None, None, None),
    ],
)
def test_size(size, width, height):
    job = parse(video_doc(size=size))
    assert (job.video.width, job.video.height) == (width, height)
    assert job.extras.get("size") == size


def test_failed_video(api):
    doc = video_doc(
        status="failed",
        progress=12,
        completed_at=None,
        expires_at=None,
        error={"code": "moderation_blocked", "message": "Your request was blocked by our moderation system."},
    )
    api.script(api.json(200, doc))
    job = AIHubMixHook().get_job(VIDEO_ID)
    assert job.status is JobStatus.FAILED
    assert job.is_terminal
    assert job.error == JobError(
        code="moderation_blocked", message="Your request was blocked by our moderation system."
    )
    assert job.video is None
    assert job.completed_at is None
    assert job.expires_at is None
    assert job.progress == 12.0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": None, "message": None}, None),
        ({}, None),
        (None, None),
        ({"message": "GPU capacity exhausted"}, JobError(message="GPU capacity exhausted")),
        ({"code": 500}, JobError(code="500")),
    ],
)
def test_error_object(error, expected):
    assert parse(video_doc(status="failed", error=error)).error == expected


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", JobStatus.QUEUED),
        ("in_progress", JobStatus.RUNNING),
        ("completed", JobStatus.SUCCEEDED),
        ("failed", JobStatus.FAILED),
        ("IN_PROGRESS", JobStatus.RUNNING),
        ("cancelled", JobStatus.CANCELLED),
    ],
)
def test_statuses(raw, status):
    job = parse(video_doc(status=raw))
    assert job.status is status
    assert job.vendor_status == raw
    assert (job.video is not None) is (status is JobStatus.SUCCEEDED)


def test_queued_video_with_nulls():
    doc = video_doc(status="queued", progress=0, completed_at=None, expires_at=None, prompt=None, error=None)
    job = parse(doc)
    assert job.status is JobStatus.QUEUED
    assert job.progress == 0.0
    assert (job.completed_at, job.expires_at, job.prompt, job.video, job.error) == (None,) * 5


def test_missing_optional_keys():
    job = parse({"id": VIDEO_ID, "status": "in_progress"})
    assert job.status is JobStatus.RUNNING
    assert (job.model, job.progress, job.created_at, job.prompt, job.kind, job.video, job.error) == (None,) * 7
    assert job.extras == {}


def test_remix():
    job = parse(video_doc(remixed_from_video_id="video_source_1"))
    assert job.kind is JobKind.REMIX
    assert job.extras["remixed_from_video_id"] == "video_source_1"


def test_millisecond_and_string_timestamps_are_utc():
    job = parse(video_doc(created_at=1758941485000, completed_at="1758941611"))
    assert job.created_at == datetime(2025, 9, 27, 2, 51, 25, tzinfo=UTC)
    assert job.completed_at == datetime(2025, 9, 27, 2, 53, 31, tzinfo=UTC)


@pytest.mark.usefixtures("fresh_status_warnings")
def test_unknown_status_is_still_running_and_logged_once(caplog):
    caplog.set_level(logging.WARNING, logger="airflow_provider_vidjobs.status")
    hook = AIHubMixHook()
    for _ in range(3):
        assert hook.parse_job(video_doc(status="moderating"), VIDEO_ID).status is JobStatus.UNKNOWN
    assert len([r for r in caplog.records if r.name == "airflow_provider_vidjobs.status"]) == 1


def test_status_overrides():
    job = parse(video_doc(status="moderating"), status_overrides={"moderating": "queued", "completed": "failed"})
    assert job.status is JobStatus.QUEUED
    assert parse(video_doc(), status_overrides={"completed": "failed"}).status is JobStatus.FAILED


@pytest.mark.parametrize(
    ("change", "where"),
    [({"id": None}, "id"), ({"error": "boom"}, "error"), ({"error": ["x"]}, "error")],
)
def test_shapes_that_do_not_validate_are_invalid_responses(api, leak_guard, change, where):
    api.script(api.json(200, video_doc(**change)))
    with leak_guard.raises(InvalidResponseError) as info:
        AIHubMixHook().get_job(VIDEO_ID)
    assert f"({where}" in str(info.value)
    assert f"aihubmix job {VIDEO_ID}" in str(info.value)


# ----- opaque ids: one percent-encoded path segment ---------------------------------------------


@pytest.mark.parametrize(
    ("job_id", "raw_path"),
    [
        ("video_123", "/v1/videos/video_123"),
        ("dmlk/ZW8+MTIz==", "/v1/videos/dmlk%2FZW8%2BMTIz%3D%3D"),
        ("a/../../admin", "/v1/videos/a%2F..%2F..%2Fadmin"),
        ("100%", "/v1/videos/100%25"),
        ("%2F", "/v1/videos/%252F"),
        ("my video 1", "/v1/videos/my%20video%201"),
        ("a?b=c#d", "/v1/videos/a%3Fb%3Dc%23d"),
        ("a;b,c&d", "/v1/videos/a%3Bb%2Cc%26d"),
        ("vidéo", "/v1/videos/vid%C3%A9o"),
        ("..a", "/v1/videos/..a"),
        ("~x-y_z.", "/v1/videos/~x-y_z."),
    ],
)
def test_ids_are_one_percent_encoded_path_segment(api, fetch_job, job_id, raw_path):
    api.script(api.json(200, video_doc(id=job_id, status="in_progress")))
    job = fetch_job(AIHubMixHook(), job_id)
    (request,) = api.requests
    assert request.url.raw_path.decode("ascii") == raw_path
    assert request.url.host == "aihubmix.com"
    assert request.headers["Authorization"] == f"Bearer {CANARY_KEY}"
    assert job.job_id == job_id


def test_content_url_encodes_the_id_too():
    job = parse(video_doc(id="dmlk/ZW8+MTIz=="))
    assert job.video.url == "https://aihubmix.com/v1/videos/dmlk%2FZW8%2BMTIz%3D%3D/content"
    assert job.video.thumbnail_url == "https://aihubmix.com/v1/videos/dmlk%2FZW8%2BMTIz%3D%3D/content?variant=thumbnail"


@pytest.mark.parametrize(
    ("host", "content"),
    [
        ("https://gw.example.com/v1", "https://gw.example.com/v1/videos/{id}/content"),
        ("gw.example.com/openai/", "https://gw.example.com/openai/v1/videos/{id}/content"),
        ("http://localhost:8080", "http://localhost:8080/v1/videos/{id}/content"),
    ],
)
def test_content_url_follows_the_connection_host(api, connections, host, content):
    connections("aihubmix_default", "aihubmix", host=host)
    api.script(api.json(200, video_doc()))
    job = AIHubMixHook().get_job(VIDEO_ID)
    assert job.video.url == content.format(id=VIDEO_ID)


def test_long_opaque_id_is_accepted(api):
    long_id = "dmlkZW8t" * 128  # 1024 characters
    api.script(api.json(200, video_doc(id=long_id, status="queued")))
    job = AIHubMixHook().get_job(long_id)
    assert job.job_id == long_id
    assert api.paths == [f"/v1/videos/{long_id}"]
