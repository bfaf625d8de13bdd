"""Replicate predictions: the documented example, statuses (unknown ones too), output shapes, progress from
logs, errors, times, metrics, web URL and link, auth header, cancel (POST) and create, downloads.

A rejected token echoed by the API is the contract suite's (tests/hardening/test_key_leaks.py, every API).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import DownloadError, InvalidResponseError
from airflow_provider_vidjobs.hooks.base import VideoJobHook
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.hooks.replicate import (
    NO_VIDEO,
    STATUS_TABLE,
    ReplicateHook,
    progress_from_logs,
    video_url,
)
from airflow_provider_vidjobs.links import job_link
from airflow_provider_vidjobs.models import JobStatus, StatusMapper, VideoJob
from airflow_provider_vidjobs.provider_info import get_provider_info

CANARY_KEY = "canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"

pytestmark = pytest.mark.usefixtures("replicate_connection", "leak_guard")

PID = "gm3qorzdhgbfurvjtvhg6dckhu"
MP4 = "https://replicate.delivery/xezq/abc123/output.mp4"


@pytest.fixture
def replicate_connection(connections: Any) -> None:
    connections("replicate_default", "replicate")


def prediction(**changes: Any) -> dict[str, Any]:
    """A succeeded video prediction with every key of the reference's prediction object."""
    doc: dict[str, Any] = {
        "id": PID,
        "model": "minimax/video-01",
        "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        "input": {"prompt": "a calico cat playing a piano"},
        "logs": "  0%|          | 0/100\n 50%|#####     | 50/100\n100%|##########| 100/100",
        "output": MP4,
        "data_removed": False,
        "error": None,
        "status": "succeeded",
        "created_at": "2025-01-08T16:19:34.765994657Z",
        "started_at": "2025-01-08T16:19:40.779176Z",
        "completed_at": "2025-01-08T16:21:04.791859Z",
        "metrics": {"predict_time": 84.012683, "total_time": 90.02},
        "urls": {
            "cancel": f"https://api.replicate.com/v1/predictions/{PID}/cancel",
            "get": f"https://api.replicate.com/v1/predictions/{PID}",
            "web": f"https://replicate.com/p/{PID}",
        },
    }
    doc.update(changes)
    return doc


def parse(doc: dict[str, Any], **hook_kwargs: Any) -> VideoJob:
    return ReplicateHook(**hook_kwargs).parse_job(doc, str(doc.get("id")))


# ----- registration -----------------------------------------------------------------------------


def test_registered_as_replicate():
    assert hook_class("replicate") is ReplicateHook
    assert (ReplicateHook.conn_type, ReplicateHook.default_conn_name) == ("replicate", "replicate_default")
    assert ReplicateHook.default_base_url == HOOKS["replicate"].default_base_url == "https://api.replicate.com"
    types = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    assert types["replicate"]["hook-class-name"] == "airflow_provider_vidjobs.hooks.replicate.ReplicateHook"
    assert types["replicate"]["ui-field-behaviour"]["placeholders"]["password"] == "Your Replicate API key"


# ----- the documented example --------------------------------------------------------------------


def test_documented_example_parses_and_says_it_has_no_video(load_example, api):
    """The reference's example is a text model (``hello Alice``): tolerated, and a clear error, not a video."""
    doc = load_example("replicate_get_prediction.json")
    api.script(api.json(200, doc))
    job = ReplicateHook().get_job(doc["id"])
    assert api.paths == [f"/v1/predictions/{PID}"]
    assert job.vendor_status == "succeeded"
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.code == NO_VIDEO
    assert "holds no URL" in str(job.error)
    assert "replicate/hello-world" in str(job.error)
    assert job.video is None
    assert job.model == "replicate/hello-world"
    assert job.extras["predict_time_s"] == 0.012683
    assert job.web_url == f"https://replicate.com/p/{PID}"
    assert job.created_at == datetime(2023, 9, 8, 16, 19, 34, 765994, tzinfo=UTC)


def test_succeeded_video_prediction_field_by_field():
    job = parse(prediction())
    assert job.provider == "replicate"
    assert job.job_id == PID
    assert job.status is JobStatus.SUCCEEDED
    assert job.progress == 100.0
    assert job.prompt == "a calico cat playing a piano"
    assert job.model == "minimax/video-01"
    assert job.video is not None
    assert job.video.url == MP4
    assert job.error is None
    assert job.created_at == datetime(2025, 1, 8, 16, 19, 34, 765994, tzinfo=UTC)  # nanoseconds cut to micro
    assert job.started_at == datetime(2025, 1, 8, 16, 19, 40, 779176, tzinfo=UTC)
    assert job.completed_at == datetime(2025, 1, 8, 16, 21, 4, 791859, tzinfo=UTC)
    assert job.web_url == f"https://replicate.com/p/{PID}"
    assert job.extras == {
        "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        "predict_time_s": 84.012683,
        "total_time_s": 90.02,
        "data_removed": False,
    }
    assert VideoJob.from_xcom(job.to_xcom()) == job


# ----- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("starting", JobStatus.QUEUED),
        ("processing", JobStatus.RUNNING),
        ("succeeded", JobStatus.SUCCEEDED),
        ("failed", JobStatus.FAILED),
        ("canceled", JobStatus.CANCELLED),
        ("aborted", JobStatus.CANCELLED),
        ("Processing", JobStatus.RUNNING),
        ("cancelled", JobStatus.CANCELLED),
    ],
)
def test_statuses(raw, status):
    assert StatusMapper("replicate", STATUS_TABLE).map(raw) is status
    assert ReplicateHook.status_table() is STATUS_TABLE


def test_unknown_status_is_still_running_and_logged_once(caplog, fresh_status_warnings):
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        job = parse(prediction(status="booting", output=None))
    assert job.status is JobStatus.UNKNOWN
    assert not job.is_terminal
    assert job.vendor_status == "booting"
    assert sum("booting" in r.getMessage() for r in caplog.records) == 1


def test_status_overrides():
    job = parse(prediction(status="booting", output=None), status_overrides={"booting": "queued"})
    assert job.status is JobStatus.QUEUED


def test_a_status_the_user_maps_to_succeeded_is_taken_at_their_word():
    """The no-video rule is for Replicate's own ``succeeded``: a user's mapping ends the wait as they said."""
    job = parse(prediction(status="RENDERED", output=None), status_overrides={"RENDERED": "succeeded"})
    assert (job.status, job.vendor_status, job.video, job.error) == (JobStatus.SUCCEEDED, "RENDERED", None, None)
    job = parse(prediction(status="Succeeded", output=None), status_overrides={"RENDERED": "succeeded"})
    assert job.status is JobStatus.FAILED  # Replicate's own word, in any spelling


def test_starting_prediction_with_nulls():
    job = parse(prediction(status="starting", output=None, logs=None, started_at=None, completed_at=None, metrics=None))
    assert job.status is JobStatus.QUEUED
    assert (job.progress, job.video, job.error, job.started_at, job.completed_at) == (None, None, None, None, None)
    assert "predict_time_s" not in job.extras


def test_aborted_and_canceled_carry_no_video_even_with_output():
    for raw in ("aborted", "canceled"):
        job = parse(prediction(status=raw))
        assert job.status is JobStatus.CANCELLED
        assert job.video is None


# ----- output shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "url"),
    [
        (MP4, MP4),
        (f"  {MP4} ", MP4),
        ([MP4], MP4),
        (["https://x.example/a.png", MP4, "https://x.example/b.mp4"], MP4),  # the first video-looking one
        (["https://x.example/a", "https://x.example/b"], "https://x.example/a"),  # else the first URL
        ({"video": MP4, "thumbnail": "https://x.example/t.jpg"}, MP4),
        (["text", 3, None, MP4], MP4),
        (f"{MP4}?sig=1", f"{MP4}?sig=1"),
        ("hello Alice", None),
        ([], None),
        (None, None),
        (42, None),
        ({"text": "hi"}, None),
        ("ftp://x.example/a.mp4", None),
    ],
)
def test_video_url_of_every_output_shape(output, url):
    assert video_url(output) == url


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"output": None}, "output is null"),
        ({"output": {"text": "hi"}}, "(dict) holds no URL"),
        ({"output": None, "data_removed": True}, "deleted"),
    ],
)
def test_succeeded_without_a_url_is_a_clear_failure(changes, words):
    job = parse(prediction(**changes))
    assert job.status is JobStatus.FAILED
    assert job.vendor_status == "succeeded"
    assert job.error is not None
    assert job.error.code == NO_VIDEO
    assert words in str(job.error)
    assert "API says 'succeeded'" in job.summary()


# ----- progress from logs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logs", "progress"),
    [
        (" 45%|####5     | 45/100 [00:10<00:12,  4.5it/s]", 45.0),
        ("  5%|#\n 45%|####5\n 46%|####6", 46.0),
        ("step 12.5% done", 12.5),
        ("100%|##########| 50/50", 100.0),
        ("no percentages here", None),
        ("", None),
        (None, None),
        ("999%", 100.0),  # clamped: never above 100
        ("loaded v1.5% weights", 1.5),
    ],
)
def test_progress_is_the_last_percentage_in_the_logs(logs, progress):
    assert progress_from_logs(logs) == progress


def test_processing_prediction_reports_progress():
    job = parse(prediction(status="processing", output=None, completed_at=None, logs=" 10%|#\n 73%|#######"))
    assert job.status is JobStatus.RUNNING
    assert job.progress == 73.0
    assert job.summary() == f"replicate job {PID}: running 73% (API says 'processing')"


# ----- errors, tolerance -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("CUDA out of memory", "CUDA out of memory"),
        ({"code": "E1001", "message": "NSFW content detected"}, "E1001: NSFW content detected"),
        (None, None),
        ("  ", None),
    ],
)
def test_failed_prediction_error(error, expected):
    job = parse(prediction(status="failed", output=None, error=error))
    assert job.status is JobStatus.FAILED
    assert (str(job.error) if job.error else None) == expected


def test_unknown_keys_and_odd_shapes_are_tolerated():
    job = parse(
        prediction(
            deadline="2025-01-08T17:19:34Z",
            new_field={"a": 1},
            metrics="n/a",
            urls=["not", "an", "object"],
            input="text",
            data_removed="no",
            logs=12,
            created_at="yesterday",
        )
    )
    assert job.status is JobStatus.SUCCEEDED
    assert job.created_at is None
    assert job.prompt is None
    assert set(job.extras) == {"version"}


@pytest.mark.parametrize(("change", "where"), [({"id": None}, "id"), ({"id": ["x"]}, "id")])
def test_shapes_that_do_not_validate_are_invalid_responses(api, leak_guard, change, where):
    api.script(api.json(200, prediction(**change)))
    with leak_guard.raises(InvalidResponseError) as info:
        ReplicateHook().get_job(PID)
    assert f"({where}" in str(info.value)
    assert f"replicate job {PID}" in str(info.value)


# ----- HTTP: paths, auth header, host -------------------------------------------------------------


def test_get_sends_the_bearer_token_to_the_prediction_path(api, fetch_job):
    api.script(api.json(200, prediction(status="processing", output=None)))
    job = fetch_job(ReplicateHook(), PID)
    (request,) = api.requests
    assert request.method == "GET"
    assert request.url.host == "api.replicate.com"
    assert request.url.raw_path == f"/v1/predictions/{PID}".encode()
    assert request.headers["Authorization"] == f"Bearer {CANARY_KEY}"
    assert job.status is JobStatus.RUNNING


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("https://api.replicate.com/v1", "/v1/predictions/a%2Fb"),
        ("https://gateway.example/replicate", "/replicate/v1/predictions/a%2Fb"),
    ],
)
def test_paths_follow_the_connection_host(api, connections, host, path):
    connections("replicate_default", "replicate", host=host)
    api.script(api.json(200, prediction(id="a/b", status="starting", output=None)))
    ReplicateHook().get_job("a/b")
    assert api.paths == [path]


@pytest.mark.parametrize(
    ("urls", "web_url"),
    [
        ({"web": f"https://replicate.com/p/{PID}"}, f"https://replicate.com/p/{PID}"),
        ({"web": " https://replicate.com/p/x "}, "https://replicate.com/p/x"),
        ({"web": "javascript:alert(1)"}, None),  # rendered as a link in the UI: web URLs only
        ({"web": None}, None),
        ({}, None),
        (None, None),
    ],
)
def test_web_url_is_urls_web(urls, web_url):
    job = parse(prediction(urls=urls))
    assert job.web_url == web_url
    assert "web_url" not in job.extras


def test_the_link_prefers_urls_web_on_any_host(connections):
    connections("replicate_default", "replicate", host="https://gateway.example")
    hook = ReplicateHook()
    job = parse(prediction(urls={"web": "https://replicate.com/p/other"}))
    assert job_link(hook, PID, job) == "https://replicate.com/p/other"
    assert job_link(hook, PID) == ""  # before any answer, on a host that is not Replicate's


def test_web_url_is_replicates_page_only_on_replicates_host(connections):
    assert ReplicateHook().job_web_url(PID) == f"https://replicate.com/p/{PID}"
    connections("replicate_default", "replicate", host="http://127.0.0.1:9999")
    assert ReplicateHook().job_web_url(PID) is None
    connections("replicate_default", "replicate", extra={"web_url_template": "https://ops.example/{job_id}"})
    assert ReplicateHook().job_web_url(PID) == f"https://ops.example/{PID}"


def test_connection_test_reads_a_prediction_that_cannot_exist(api):
    api.script(api.json(404, {"title": "Not found", "detail": "Not found.", "status": 404}))
    assert ReplicateHook().test_connection() == (True, "Works: https://api.replicate.com accepted the API key.")
    assert api.paths == ["/v1/predictions/vidjobs-connection-test"]


# ----- cancel, create, download -------------------------------------------------------------------


def test_cancel_posts_to_the_cancel_path_sync_and_async(api):
    api.script(api.json(200, prediction(status="canceled", output=None)))
    hook = ReplicateHook()
    assert hook.can_cancel
    assert (ReplicateHook.cancel_method, VideoJobHook.cancel_method) == ("POST", "DELETE")
    hook.cancel_job(PID)
    asyncio.run(ReplicateHook().acancel_job(PID))
    assert [(r.method, r.url.raw_path.decode()) for r in api.requests] == [
        ("POST", f"/v1/predictions/{PID}/cancel"),
        ("POST", f"/v1/predictions/{PID}/cancel"),
    ]
    assert all(r.headers["Authorization"] == f"Bearer {CANARY_KEY}" for r in api.requests)


def test_cancel_of_a_prediction_replicate_forgot_counts_as_stopped(api):
    api.script(api.json(404, {"detail": "Not found."}))
    ReplicateHook().cancel_job(PID)


def test_create_by_model_or_version(api):
    api.script(api.json(201, prediction(status="starting", output=None)))
    hook = ReplicateHook()
    job = hook.create_prediction(model="minimax/video-01", input={"prompt": "a cat"})
    hook.create_prediction(version="owner/name:abc", input={"prompt": "a cat"}, extra_params={"webhook": "https://h"})
    first, second = api.requests
    assert first.url.raw_path == b"/v1/models/minimax/video-01/predictions"
    assert first.content == b'{"input":{"prompt":"a cat"}}'
    assert second.url.raw_path == b"/v1/predictions"
    assert second.content == b'{"webhook":"https://h","input":{"prompt":"a cat"},"version":"owner/name:abc"}'
    assert job.status is JobStatus.QUEUED


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"model": "a/b", "version": "v"}, {"model": "no-slash"}, {"model": "a/b/c"}, {"model": "a/b", "input": []}],
)
def test_create_refuses_unclear_requests(api, kwargs):
    kwargs.setdefault("input", {"prompt": "x"})
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        ReplicateHook().create_prediction(**kwargs)
    assert api.requests == []


def test_create_is_not_retried_on_a_5xx(api, sleeps):
    api.script(api.json(503, {"detail": "busy"}))
    with pytest.raises(Exception, match="503"):
        ReplicateHook().create_prediction(model="a/b", input={})
    assert len(api.requests) == 1


def test_download_source_never_sends_the_token_to_delivery_hosts(api):
    api.script(api.json(200, prediction()))
    source = ReplicateHook().asset_source(PID)
    assert source.url == MP4
    assert not source.send_key


def test_download_source_sends_the_token_to_the_apis_own_files(api):
    api.script(api.json(200, prediction(output="https://api.replicate.com/v1/files/abc/output.mp4")))
    assert ReplicateHook().asset_source(PID).send_key


def test_download_of_a_prediction_without_video_is_a_clear_error(api, leak_guard):
    api.script(api.json(200, prediction(status="processing", output=None)))
    with leak_guard.raises(DownloadError, match="no video"):
        ReplicateHook().asset_source(PID)
    with pytest.raises(ValueError, match="only 'video'"):
        ReplicateHook().asset_source(PID, "thumbnail")
