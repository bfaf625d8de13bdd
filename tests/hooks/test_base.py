"""What every hook shares: retries, errors, id rules, auth scoping, settings, pooled clients, test_connection.

Each behaviour is checked for both APIs and, where it matters, through both ``get_job`` (sync) and
``aget_job`` (async). The canary key must never appear in an error or a log line (``leak_guard``).
"""

from __future__ import annotations

import asyncio
import json
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from airflow_provider_vidjobs import __version__
from airflow_provider_vidjobs.exceptions import (
    APIUnavailableError,
    AuthenticationError,
    InvalidRequestError,
    InvalidResponseError,
    JobNotFoundError,
    RateLimitedError,
    TransientAPIError,
    VideoAPIError,
)
from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook
from airflow_provider_vidjobs.hooks.base import MAX_JOB_ID_LENGTH, VideoJobHook, check_job_id, is_retryable
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.http import clients, responses
from airflow_provider_vidjobs.http.settings import Secret, normalize_base_url, settings_from_connection
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.retry import NO_RETRY, RetryPolicy

pytestmark = pytest.mark.usefixtures("connections", "leak_guard")

CANARY_KEY = "canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"  # the conftest's key, spelled out for readability
TP_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
AHM_ID = "video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5"


@pytest.fixture(autouse=True)
def _same_key_as_conftest(canary_key: str) -> None:
    assert canary_key == CANARY_KEY


@dataclass(frozen=True)
class Api:
    name: str
    hook: type[VideoJobHook]
    job_id: str
    path: str
    scheme: str
    base_url: str

    def doc(self, **changes: Any) -> dict[str, Any]:
        if self.name == "tensorpix":
            doc: dict[str, Any] = {
                "id": self.job_id,
                "prompt": "a red fox running through snow",
                "type": "t2v",
                "status": "processing",
                "cost": "1.50",
                "model": "wan-2.2",
                "generated_video": None,
                "input_images": [],
                "progress": 40,
                "started_at": "2025-03-01T12:00:00Z",
                "options": {},
            }
        else:
            doc = {
                "id": self.job_id,
                "object": "video",
                "model": "sora-2",
                "status": "in_progress",
                "progress": 40,
                "created_at": 1740830400,
                "completed_at": None,
                "expires_at": None,
                "prompt": "a red fox running through snow",
                "size": "1280x720",
                "seconds": "8",
                "remixed_from_video_id": None,
                "error": None,
            }
        doc.update(changes)
        return doc


TENSORPIX = Api(
    "tensorpix", TensorPixHook, TP_ID, f"/api/video-gen/jobs/{TP_ID}/", "Token", "https://backend.tensorpix.ai"
)
AIHUBMIX = Api("aihubmix", AIHubMixHook, AHM_ID, f"/v1/videos/{AHM_ID}", "Bearer", "https://aihubmix.com")
APIS = [TENSORPIX, AIHUBMIX]


@pytest.fixture(params=APIS, ids=lambda a: a.name)
def vendor(request: pytest.FixtureRequest) -> Api:
    return request.param


def assert_running(job: VideoJob, vendor: Api) -> None:
    assert isinstance(job, VideoJob)
    assert job.provider == vendor.name
    assert job.job_id == vendor.job_id
    assert job.status is JobStatus.RUNNING
    assert job.progress == 40.0


# ----- retries ----------------------------------------------------------------------------------


def test_three_transient_failures_then_success_gives_one_result(vendor, api, fetch_job, sleeps):
    api.script(
        api.json(503, {"error": {"message": "overloaded"}}),
        api.json(502),
        httpx.ConnectError("connection reset"),
        api.json(200, vendor.doc()),
    )
    job = fetch_job(vendor.hook(), vendor.job_id)
    assert_running(job, vendor)
    assert len(api.requests) == 4
    assert api.paths == [vendor.path] * 4
    assert len(sleeps) == 3


def test_401_gives_an_authentication_error_after_exactly_one_request(vendor, api, fetch_job, sleeps, leak_guard):
    api.script(api.json(401, {"detail": "Invalid token."}), api.json(200, vendor.doc()))
    with leak_guard.raises(AuthenticationError) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    assert len(api.requests) == 1
    assert sleeps == []
    assert info.value.http_status == 401


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_transient_statuses_are_retried(vendor, api, fetch_job, sleeps, status):
    api.script(api.json(status), api.json(200, vendor.doc()))
    assert_running(fetch_job(vendor.hook(), vendor.job_id), vendor)
    assert len(api.requests) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transport_errors_and_timeouts_are_retried(vendor, api, fetch_job, sleeps, error):
    api.script(error, api.json(200, vendor.doc()))
    assert_running(fetch_job(vendor.hook(), vendor.job_id), vendor)
    assert len(api.requests) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, InvalidRequestError), (401, AuthenticationError), (403, AuthenticationError), (404, JobNotFoundError)],
)
def test_client_errors_are_not_retried(vendor, api, fetch_job, sleeps, leak_guard, status, error):
    api.script(api.json(status, {"detail": "nope"}), api.json(200, vendor.doc()))
    with leak_guard.raises(error) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    assert type(info.value) is error
    assert len(api.requests) == 1
    assert sleeps == []
    assert not is_retryable(info.value)


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        ("503", APIUnavailableError, "HTTP 503"),
        ("429", RateLimitedError, "HTTP 429"),
        ("connect", APIUnavailableError, "could not reach"),
        ("timeout", APIUnavailableError, "timed out talking to"),
    ],
)
def test_attempts_are_bounded_then_the_right_error(vendor, api, fetch_job, sleeps, leak_guard, reply, error, text):
    replies = {
        "503": api.json(503, headers={"Retry-After": "1"}),
        "429": api.json(429, headers={"Retry-After": "2"}),
        "connect": httpx.ConnectError("[Errno 111] Connection refused"),
        "timeout": httpx.ReadTimeout("timed out"),
    }
    api.script(replies[reply])
    with leak_guard.raises(error) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    assert type(info.value) is error
    assert isinstance(info.value, TransientAPIError)
    assert is_retryable(info.value)
    assert text in str(info.value)
    assert len(api.requests) == RetryPolicy().max_attempts == 4
    assert len(sleeps) == 3  # no wait after the last try


def test_an_untrusted_certificate_is_tried_once(vendor, api, fetch_job, sleeps, leak_guard):
    """Retrying cannot make a certificate trusted: one attempt, no backoff, the TLS error at once."""
    reason = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed (_ssl.c:1006)"
    api.script(httpx.ConnectError(reason))
    with leak_guard.raises(VideoAPIError) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    assert not isinstance(info.value, TransientAPIError)
    assert "was not trusted" in str(info.value)
    assert len(api.requests) == 1
    assert sleeps == []


def test_max_attempts_comes_from_the_connection(api, connections, fetch_job, sleeps, leak_guard):
    connections("tensorpix_default", "tensorpix", extra={"max_attempts": "2"})
    api.script(api.json(500))
    with leak_guard.raises(APIUnavailableError):
        fetch_job(TensorPixHook(), TP_ID)
    assert len(api.requests) == 2
    assert len(sleeps) == 1


def test_retry_policy_given_to_the_hook_wins(vendor, api, fetch_job, sleeps, leak_guard):
    api.script(api.json(503))
    with leak_guard.raises(APIUnavailableError):
        fetch_job(vendor.hook(retry_policy=NO_RETRY), vendor.job_id)
    assert len(api.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "0.25"}, 0.25),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "300", "Retry-After": "9"}, 0.3),
        ({"Retry-After": "3600"}, 60.0),  # capped at retry_after_cap
        ({"Retry-After": format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)}, 60.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: go now
    ],
)
@pytest.mark.parametrize("status", [429, 503])
def test_server_wait_hints_are_honoured(vendor, api, fetch_job, sleeps, status, headers, wait):
    api.script(api.json(status, headers=headers), api.json(200, vendor.doc()))
    assert_running(fetch_job(vendor.hook(), vendor.job_id), vendor)
    assert sleeps == [wait]


def test_retry_after_http_date_is_honoured(vendor, api, fetch_job, sleeps):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    api.script(api.json(429, headers={"Retry-After": when}), api.json(200, vendor.doc()))
    fetch_job(vendor.hook(), vendor.job_id)
    (wait,) = sleeps
    assert 17.0 <= wait <= 20.0


def test_server_wait_is_capped_by_the_policy(vendor, api, fetch_job, sleeps):
    api.script(api.json(429, headers={"Retry-After": "30"}), api.json(200, vendor.doc()))
    fetch_job(vendor.hook(retry_policy=RetryPolicy(retry_after_cap=5.0)), vendor.job_id)
    assert sleeps == [5.0]


@pytest.mark.usefixtures("backoff_at_ceiling")
def test_without_a_hint_the_backoff_grows_to_its_cap(vendor, api, fetch_job, sleeps):
    policy = RetryPolicy(max_attempts=6, backoff_base=0.5, backoff_cap=3.0)
    api.script(api.json(500), api.json(500), api.json(500), api.json(500), api.json(500), api.json(200, vendor.doc()))
    fetch_job(vendor.hook(retry_policy=policy), vendor.job_id)
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_waits_are_jittered_within_the_ceiling(vendor, api, fetch_job, sleeps):
    api.script(api.json(500), api.json(500), api.json(500), api.json(200, vendor.doc()))
    fetch_job(vendor.hook(), vendor.job_id)
    assert len(sleeps) == 3
    for wait, ceiling in zip(sleeps, [0.5, 1.0, 2.0], strict=True):
        assert 0.0 <= wait <= ceiling


def test_retries_are_logged_with_the_attempt(api, sleeps, leak_guard):
    api.script(api.json(503, {"detail": "busy"}), api.json(200, TENSORPIX.doc()))
    TensorPixHook().get_job(TP_ID)
    output = leak_guard.read_output()
    assert "retrying (attempt 2 of 4)" in output
    assert "the API is unavailable" in output


# ----- errors -----------------------------------------------------------------------------------


def test_error_names_provider_job_status_vendor_message_and_request_id_openai_envelope(api, fetch_job, leak_guard):
    body = {"error": {"message": "Video not found", "type": "invalid_request_error", "code": "not_found"}}
    api.script(api.json(404, body, headers={"X-Request-Id": "req_9a7b"}))
    with leak_guard.raises(JobNotFoundError) as info:
        fetch_job(AIHubMixHook(), AHM_ID)
    text = str(info.value)
    assert text.startswith(f"aihubmix job {AHM_ID}: no such job")
    assert "HTTP 404" in text
    assert "API says: Video not found (code not_found)" in text
    assert "request id req_9a7b" in text
    assert "aihubmix_default" in text
    assert (info.value.provider, info.value.job_id, info.value.http_status) == ("aihubmix", AHM_ID, 404)
    assert info.value.request_id == "req_9a7b"


def test_error_names_the_drf_detail(api, fetch_job, leak_guard):
    api.script(api.json(403, {"detail": "You do not have permission to perform this action."}))
    with leak_guard.raises(AuthenticationError) as info:
        fetch_job(TensorPixHook(), TP_ID)
    text = str(info.value)
    assert text.startswith(f"tensorpix job {TP_ID}: access was refused")
    assert "HTTP 403" in text
    assert "API says: You do not have permission to perform this action." in text


def test_rate_limited_error_carries_retry_after(vendor, api, fetch_job, sleeps, leak_guard):
    api.script(api.json(429, {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}, {"Retry-After": "9"}))
    with leak_guard.raises(RateLimitedError) as info:
        fetch_job(vendor.hook(retry_policy=NO_RETRY), vendor.job_id)
    assert info.value.retry_after == 9.0
    assert "slow down" in str(info.value)
    again = pickle.loads(pickle.dumps(info.value))
    assert again.retry_after == 9.0
    assert str(again) == str(info.value)


@pytest.mark.parametrize(
    ("content", "content_type", "looks"),
    [
        (b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>", "text/html", "an HTML page"),
        (b"OK", "text/plain", "2 bytes that are not valid JSON"),
        (b'{"id": "truncated', "application/json", "17 bytes that are not valid JSON"),
    ],
)
def test_a_success_that_is_not_json_is_an_invalid_response(
    vendor, api, fetch_job, sleeps, leak_guard, content, content_type, looks
):
    api.script(api.raw(200, content, {"content-type": content_type, "x-request-id": "rq1"}))
    with leak_guard.raises(InvalidResponseError) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    text = str(info.value)
    assert f"the API answered with {looks} ({content_type}) instead of JSON" in text
    assert f"{vendor.name} job {vendor.job_id}" in text
    assert "HTTP 200" in text
    assert "request id rq1" in text
    assert len(api.requests) == 1  # not retried
    assert sleeps == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"id": None}, "id"),
        ({"id": 12345}, "id"),
    ],
)
def test_a_document_without_a_usable_id_is_an_invalid_response(vendor, api, fetch_job, leak_guard, change, where):
    api.script(api.json(200, vendor.doc(**change)))
    with leak_guard.raises(InvalidResponseError) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    text = str(info.value)
    assert "does not have the documented shape" in text
    assert f"({where}:" in text
    assert f"{vendor.name} job {vendor.job_id}" in text
    assert len(api.requests) == 1


def test_a_document_missing_id_is_an_invalid_response(vendor, api, fetch_job, leak_guard):
    doc = vendor.doc()
    del doc["id"]
    api.script(api.json(200, doc))
    with leak_guard.raises(InvalidResponseError, match=r"documented shape \(id: Field required"):
        fetch_job(vendor.hook(), vendor.job_id)


@pytest.mark.parametrize("body", [[], "a string", 42, None])
def test_a_document_that_is_not_an_object_is_an_invalid_response(vendor, api, fetch_job, leak_guard, body):
    api.script(api.raw(200, json.dumps(body).encode(), {"content-type": "application/json"}))
    with leak_guard.raises(InvalidResponseError, match="does not have the documented shape"):
        fetch_job(vendor.hook(), vendor.job_id)


class FlaggedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that records how many chunks were read from it."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0

    def __iter__(self):
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk

    async def __aiter__(self):
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


def test_a_body_declared_larger_than_the_cap_is_refused_unread(vendor, api, fetch_job, sleeps, leak_guard):
    size = responses.MAX_JSON_BYTES + 1
    streams: list[FlaggedStream] = []

    def huge(request: httpx.Request) -> httpx.Response:
        streams.append(FlaggedStream([b"{}"]))
        return httpx.Response(200, headers={"content-length": str(size)}, stream=streams[-1])

    api.script(huge)
    with leak_guard.raises(InvalidResponseError) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    assert f"a response of {size} bytes; at most {responses.MAX_JSON_BYTES} bytes" in str(info.value)
    assert streams[0].pulled == 0
    assert len(api.requests) == 1
    assert sleeps == []


def test_a_body_at_the_cap_is_read(vendor, api, fetch_job, monkeypatch):
    body = httpx.Response(200, json=vendor.doc()).content
    monkeypatch.setattr(responses, "MAX_JSON_BYTES", len(body))
    api.script(api.raw(200, body, {"content-type": "application/json"}))
    assert_running(fetch_job(vendor.hook(), vendor.job_id), vendor)


def test_a_streamed_body_over_the_cap_is_cut_off(vendor, api, fetch_job, monkeypatch, leak_guard):
    monkeypatch.setattr(responses, "MAX_JSON_BYTES", 1000)
    streams: list[FlaggedStream] = []

    def endless(request: httpx.Request) -> httpx.Response:
        streams.append(FlaggedStream([b" " * 400] * 50))  # no content-length: chunked
        return httpx.Response(200, stream=streams[-1])

    api.script(endless)
    with leak_guard.raises(InvalidResponseError, match="more than the limit"):
        fetch_job(vendor.hook(), vendor.job_id)
    assert streams[0].pulled == 3  # stopped at the first chunk past 1000 bytes


def test_redirects_are_not_followed(vendor, api, fetch_job, leak_guard):
    api.script(api.raw(302, b"", {"location": "https://elsewhere.example.com/steal"}))
    with leak_guard.raises(VideoAPIError, match="unexpected HTTP status 302"):
        fetch_job(vendor.hook(), vendor.job_id)
    assert [r.url.host for r in api.requests] == [httpx.URL(vendor.base_url).host]


# ----- id rules ---------------------------------------------------------------------------------

BAD_IDS = [
    pytest.param("", "is empty", id="empty"),
    pytest.param("   \t ", "is empty", id="whitespace"),
    pytest.param("a" * (MAX_JOB_ID_LENGTH + 1), "at most 1024", id="too-long"),
    pytest.param("abc\ndef", "control character or line break", id="newline"),
    pytest.param("abc\r\nHost: evil", "control character or line break", id="crlf"),
    pytest.param("ab\x00c", "control character or line break", id="nul"),
    pytest.param("ab\x1bc", "control character or line break", id="escape"),
    pytest.param("ab\x7fc", "control character or line break", id="del"),
    pytest.param(".", "is not a", id="dot"),
    pytest.param("..", "is not a", id="dotdot"),
    pytest.param(None, "got None", id="none"),
    pytest.param(123, "must be a string, not int", id="int"),
    pytest.param(b"video_1", "must be a string, not bytes", id="bytes"),
    pytest.param(["video_1"], "must be a string, not list", id="list"),
    pytest.param({"id": "video_1"}, "must be a string, not dict", id="dict-without-job_id"),
    pytest.param({"job_id": 7}, "must be a string, not dict", id="dict-with-int-job_id"),
]


@pytest.mark.parametrize(("job_id", "message"), BAD_IDS)
def test_bad_ids_are_refused_before_any_request(vendor, api, fetch_job, job_id, message):
    api.script(api.json(200, vendor.doc()))
    with pytest.raises(ValueError, match=vendor.name if vendor is AIHUBMIX else None) as info:
        fetch_job(vendor.hook(), job_id)
    if vendor is AIHUBMIX:  # TensorPix may stop earlier, at "not a UUID"
        assert message in str(info.value)
    assert api.requests == []
    assert api.async_clients == []


@pytest.mark.parametrize(("job_id", "message"), BAD_IDS)
def test_check_job_id_messages(job_id, message):
    with pytest.raises(ValueError, match="someapi") as info:
        check_job_id(job_id, "someapi")
    assert message in str(info.value)
    assert len(str(info.value)) < 300  # a whole document pasted as an id is not echoed back


def test_longest_id_is_accepted():
    longest = "v" * MAX_JOB_ID_LENGTH
    assert check_job_id(longest, "aihubmix") == longest


def test_id_is_stripped_of_surrounding_whitespace(vendor, api, fetch_job):
    api.script(api.json(200, vendor.doc()))
    assert_running(fetch_job(vendor.hook(), f"  {vendor.job_id}\n"), vendor)
    assert api.paths == [vendor.path]


def test_an_upstream_xcom_dict_is_accepted_as_the_id(vendor, api, fetch_job):
    upstream = VideoJob(provider=vendor.name, job_id=vendor.job_id, status=JobStatus.QUEUED).to_xcom()
    api.script(api.json(200, vendor.doc()))
    assert_running(fetch_job(vendor.hook(), upstream), vendor)
    assert api.paths == [vendor.path]


# ----- auth -------------------------------------------------------------------------------------


def test_the_key_is_sent_with_the_api_scheme(vendor, api, fetch_job):
    api.script(api.json(200, vendor.doc()))
    fetch_job(vendor.hook(), vendor.job_id)
    (request,) = api.requests
    assert request.headers["Authorization"] == f"{vendor.scheme} {CANARY_KEY}"
    assert str(request.url) == vendor.base_url + vendor.path


def test_user_agent_names_the_package_and_version(vendor, api, fetch_job):
    api.script(api.json(200, vendor.doc()))
    fetch_job(vendor.hook(), vendor.job_id)
    assert api.requests[0].headers["User-Agent"] == f"airflow-provider-vidjobs/{__version__}"


@pytest.mark.parametrize(
    "url",
    [
        "https://storage.example.com/videos/abc.mp4?X-Amz-Signature=s",
        "/_storage/videos/abc.mp4",
        "http://{host}{prefix}x",  # same host, plain http
        "https://{host}:8443{prefix}x",  # same host, another port
        "https://evil.{host}{prefix}x",
    ],
)
def test_the_key_goes_only_to_the_api_through_the_same_sync_client(vendor, api, url):
    hook = vendor.hook()
    host = httpx.URL(vendor.base_url).host
    prefix = "/api/" if vendor is TENSORPIX else "/v1/"
    api.script(api.json(200, vendor.doc()))
    client = hook.get_conn()
    client.get(url.format(host=host, prefix=prefix))
    client.get(vendor.path)
    elsewhere, own = api.requests
    assert "Authorization" not in elsewhere.headers
    assert own.headers["Authorization"] == f"{vendor.scheme} {CANARY_KEY}"


def test_install_mock_transport_keeps_the_hooks_client(install_mock_transport):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=TENSORPIX.doc())

    hook = TensorPixHook()
    client = install_mock_transport(hook, handler)
    assert client is hook.get_conn()
    hook.get_job(TP_ID)
    assert seen[0].headers["Authorization"] == f"Token {CANARY_KEY}"


@pytest.mark.parametrize("url", ["https://storage.example.com/v.mp4", "/_storage/v.mp4"])
def test_the_key_goes_only_to_the_api_through_the_hooks_request_methods(vendor, api, url):
    api.script(api.json(200, {}))
    hook = vendor.hook()
    hook.request("GET", url)
    asyncio.run(hook.arequest("GET", url))
    hook.request("GET", vendor.path)
    asyncio.run(hook.arequest("GET", vendor.path))
    sync_other, async_other, sync_own, async_own = api.requests
    assert "Authorization" not in sync_other.headers
    assert "Authorization" not in async_other.headers
    assert sync_own.headers["Authorization"] == async_own.headers["Authorization"] == f"{vendor.scheme} {CANARY_KEY}"


def test_the_shared_async_client_itself_carries_no_key(api):
    api.script(api.json(200, TENSORPIX.doc()))

    async def main() -> None:
        hook = TensorPixHook()
        async with hook.async_session():
            await hook.aget_job(TP_ID)
            (client,) = api.async_clients
            await client.get("/api/video-gen/jobs/x/")  # someone else using the pooled client directly

    asyncio.run(main())
    assert api.requests[0].headers["Authorization"] == f"Token {CANARY_KEY}"
    assert "Authorization" not in api.requests[1].headers


def test_tensorpix_behind_a_path_prefix(api, connections, fetch_job):
    connections("tensorpix_default", "tensorpix", host="https://gw.example.com/tensorpix/")
    api.script(api.json(200, TENSORPIX.doc()))
    hook = TensorPixHook()
    fetch_job(hook, TP_ID)
    hook.get_conn().get("https://gw.example.com/api/video-gen/jobs/x/")  # outside the prefix
    own, outside = api.requests
    assert own.url.raw_path.decode() == f"/tensorpix/api/video-gen/jobs/{TP_ID}/"
    assert own.headers["Authorization"] == f"Token {CANARY_KEY}"
    assert "Authorization" not in outside.headers


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("https://gw.example.com/v1", f"/v1/videos/{AHM_ID}"),
        ("https://gw.example.com/v1/", f"/v1/videos/{AHM_ID}"),
        ("gw.example.com/openai/v1", f"/openai/v1/videos/{AHM_ID}"),
        ("https://gw.example.com/openai", f"/openai/v1/videos/{AHM_ID}"),
        ("https://gw.example.com", f"/v1/videos/{AHM_ID}"),
    ],
)
def test_aihubmix_host_with_or_without_v1(api, connections, fetch_job, host, path):
    connections("aihubmix_default", "aihubmix", host=host)
    api.script(api.json(200, AIHUBMIX.doc()))
    fetch_job(AIHubMixHook(), AHM_ID)
    (request,) = api.requests
    assert request.url.host == "gw.example.com"
    assert request.url.raw_path.decode() == path
    assert request.headers["Authorization"] == f"Bearer {CANARY_KEY}"


def test_aihubmix_key_is_not_sent_outside_v1(api, connections):
    connections("aihubmix_default", "aihubmix", host="https://gw.example.com/openai/v1")
    api.script(api.json(200, {}))
    client = AIHubMixHook().get_conn()
    client.get("https://gw.example.com/openai/files/x")
    client.get("https://gw.example.com/v1/videos/x")
    assert ["Authorization" in r.headers for r in api.requests] == [False, False]


# ----- settings ---------------------------------------------------------------------------------


def settings(**fields: Any):
    values: dict[str, Any] = {
        "conn_id": "c",
        "provider": "tensorpix",
        "default_base_url": "https://backend.tensorpix.ai",
        "host": None,
        "schema": None,
        "port": None,
        "password": CANARY_KEY,
        "extra": {},
    }
    values.update(fields)
    return settings_from_connection(**values)


@pytest.mark.parametrize(
    ("host", "schema", "port", "base_url"),
    [
        (None, None, None, "https://backend.tensorpix.ai"),
        ("", None, None, "https://backend.tensorpix.ai"),
        ("api.example.com", None, None, "https://api.example.com"),
        ("api.example.com/", None, None, "https://api.example.com"),
        ("https://api.example.com/", None, None, "https://api.example.com"),
        ("http://localhost:8080/", None, None, "http://localhost:8080"),
        ("gw.example.com/tensorpix/", None, None, "https://gw.example.com/tensorpix"),
        ("localhost", "http", 8080, "http://localhost:8080"),
        ("localhost", "HTTP", None, "http://localhost"),
        ("api.example.com", None, 8443, "https://api.example.com:8443"),
        ("https://api.example.com:9000", None, 8443, "https://api.example.com:9000"),
        ("  https://api.example.com/v1  ", None, None, "https://api.example.com/v1"),
    ],
)
def test_base_url_from_the_connection(host, schema, port, base_url):
    assert settings(host=host, schema=schema, port=port).base_url == base_url


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("ftp://files.example.com", "is not an http(s) URL"),
        ("https://", "is not an http(s) URL"),
        ("://nohost", "is not an http(s) URL"),
        ("api.example.com/?token=1", "must not have a query string or fragment"),
        ("https://api.example.com/#top", "must not have a query string or fragment"),
    ],
)
def test_bad_host_is_refused_clearly(host, message):
    with pytest.raises(ValueError, match="connection host") as info:
        normalize_base_url(host, "https://backend.tensorpix.ai")
    assert message in str(info.value)
    assert repr(host) in str(info.value)


def test_bad_host_fails_the_hook_before_any_request(api, connections, fetch_job):
    connections("tensorpix_default", "tensorpix", host="ftp://files.example.com")
    with pytest.raises(ValueError, match="not an http"):
        fetch_job(TensorPixHook(), TP_ID)
    assert api.requests == []


@pytest.mark.parametrize("password", [None, "", "   ", "\n"])
def test_missing_key_is_refused_clearly(password):
    with pytest.raises(ValueError, match="Connection 'c' has no API key") as info:
        settings(password=password)
    assert "password field" in str(info.value)


@pytest.mark.parametrize("key", [f"{CANARY_KEY}\nX-Evil: 1", f"abc\r{CANARY_KEY}", f"{CANARY_KEY}\x00", "a\tb"])
def test_key_with_a_line_break_or_control_character_is_refused(key):
    with pytest.raises(ValueError, match="line break or control character") as info:
        settings(password=key)
    assert CANARY_KEY not in str(info.value)
    assert key not in str(info.value)


def test_key_is_stripped_of_surrounding_whitespace(api, connections, fetch_job):
    connections("tensorpix_default", "tensorpix", password=f"  {CANARY_KEY}\n")
    api.script(api.json(200, TENSORPIX.doc()))
    fetch_job(TensorPixHook(), TP_ID)
    assert api.requests[0].headers["Authorization"] == f"Token {CANARY_KEY}"


def test_extras_are_parsed():
    s = settings(
        extra={
            "timeout": "15",
            "connect_timeout": 3,
            "verify": "false",
            "proxy": "http://user:pw@proxy.internal:3128",
            "max_attempts": "2",
        }
    )
    assert s.timeout == 15.0
    assert s.connect_timeout == 3.0
    assert s.verify is False
    assert s.proxy.reveal() == "http://user:pw@proxy.internal:3128"
    assert s.retry == RetryPolicy(max_attempts=2)


def test_defaults_when_no_extras():
    s = settings()
    assert (s.timeout, s.connect_timeout, s.verify, s.ca_bundle, s.proxy) == (30.0, 10.0, True, None, None)
    assert s.retry == RetryPolicy()


@pytest.mark.parametrize(
    ("extra", "verify", "ca_bundle"),
    [
        ({"verify": True}, True, None),
        ({"verify": "yes"}, True, None),
        ({"verify": "0"}, False, None),
        ({"verify": False}, False, None),
        ({"ca_bundle": "/etc/ssl/private-ca.pem"}, True, "/etc/ssl/private-ca.pem"),
        ({"verify": "/etc/ssl/private-ca.pem"}, True, "/etc/ssl/private-ca.pem"),  # Airflow's HTTP hooks' habit
    ],
)
def test_verify_and_ca_bundle(extra, verify, ca_bundle):
    s = settings(extra=extra)
    assert (s.verify, s.ca_bundle) == (verify, ca_bundle)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timeout": "soon"}, "'timeout' must be a number of seconds, not 'soon'"),
        ({"timeout": 0}, "'timeout' must be greater than 0"),
        ({"timeout": -5}, "'timeout' must be greater than 0"),
        ({"connect_timeout": [1]}, "'connect_timeout' must be a number of seconds"),
        ({"connect_timeout": "0"}, "'connect_timeout' must be greater than 0"),
        ({"verify": 2}, "'verify' must be true or false, not 2"),
        ({"max_attempts": "many"}, "'max_attempts' must be a number"),
        ({"max_attempts": 0}, "'max_attempts' must be greater than 0"),
    ],
)
def test_bad_extras_are_refused_clearly(extra, message):
    with pytest.raises(ValueError, match="Connection extra") as info:
        settings(extra=extra)
    assert message in str(info.value)


def test_an_unreadable_ca_bundle_is_refused_clearly(tmp_path):
    from airflow_provider_vidjobs.http.clients import tls_context

    with pytest.raises(ValueError, match="Cannot load the CA bundle"):
        tls_context(True, str(tmp_path / "missing.pem"))


def test_the_client_uses_the_connection_timeouts(api, connections):
    connections("tensorpix_default", "tensorpix", extra={"timeout": 12, "connect_timeout": "4"})
    client = TensorPixHook().get_conn()
    assert client.timeout == httpx.Timeout(12.0, connect=4.0)
    assert str(client.base_url).rstrip("/") == "https://backend.tensorpix.ai"
    assert client.follow_redirects is False


def test_sync_and_async_lookups_read_the_same_settings(connections):
    connections("tensorpix_default", "tensorpix", host="gw.example.com/tp/", extra={"timeout": 5, "max_attempts": 3})
    sync = TensorPixHook().settings
    async_ = asyncio.run(TensorPixHook().aget_settings())
    assert sync == async_
    assert sync.base_url == "https://gw.example.com/tp"
    assert sync.retry.max_attempts == 3


def test_the_key_is_registered_with_airflows_secret_masker(connections, mocker):
    from airflow_provider_vidjobs.hooks import base

    masked = mocker.patch.object(base, "mask_secret")
    TensorPixHook().settings  # noqa: B018 - reading the settings is the action
    masked.assert_called_once_with(CANARY_KEY)


def test_reprs_never_show_the_key_or_proxy_credentials(api, connections):
    connections("tensorpix_default", "tensorpix", extra={"proxy": "http://proxyuser:proxy-secret@proxy:3128"})
    hook = TensorPixHook()
    s = hook.settings
    shown = [repr(s), str(s), repr(hook), str(hook), repr(s.api_key), str(s.api_key), repr(hook.get_conn().auth)]
    for text in shown:
        assert CANARY_KEY not in text
        assert "proxy-secret" not in text
    assert repr(Secret(CANARY_KEY)) == "Secret('***')"
    assert s.api_key.reveal() == CANARY_KEY


def test_secret_compares_by_value():
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert not Secret("")


def test_settings_are_read_once(api, connections, mocker):
    hook = TensorPixHook()
    spy = mocker.spy(hook, "get_connection")
    api.script(api.json(200, TENSORPIX.doc()))
    hook.get_job(TP_ID)
    hook.get_job(TP_ID)
    assert spy.call_count == 1
    assert hook.get_conn() is hook.get_conn()


# ----- pooled async clients ---------------------------------------------------------------------


def test_two_calls_in_one_loop_share_one_client(vendor, api):
    api.script(api.json(200, vendor.doc()))

    async def main() -> None:
        hook = vendor.hook()
        await hook.aget_job(vendor.job_id)
        await vendor.hook().aget_job(vendor.job_id)  # another hook, same connection
        await asyncio.gather(*(hook.aget_job(vendor.job_id) for _ in range(5)))

    asyncio.run(main())
    assert len(api.requests) == 7
    assert len(api.async_clients) == 1


def test_hooks_in_sessions_share_one_client_closed_after_the_last(vendor, api):
    api.script(api.json(200, vendor.doc()))
    seen: dict[str, Any] = {}

    async def main() -> None:
        first, second = vendor.hook(), vendor.hook()
        async with first.async_session():
            async with second.async_session():
                await asyncio.gather(first.aget_job(vendor.job_id), second.aget_job(vendor.job_id))
                (client,) = api.async_clients
                seen["client"] = client
                assert clients.CLIENT_POOL.open_clients() == 1
            assert not client.is_closed  # the first session still holds it
            await first.aget_job(vendor.job_id)
        seen["closed_after_last"] = client.is_closed
        seen["open"] = clients.CLIENT_POOL.open_clients()

    asyncio.run(main())
    assert len(api.async_clients) == 1
    assert len(api.requests) == 3
    assert seen["closed_after_last"] is True
    assert seen["open"] == 0


def test_a_one_off_call_keeps_the_client_a_while_then_closes_it(api, monkeypatch):
    monkeypatch.setattr(clients, "LINGER_SECONDS", 0.05)
    api.script(api.json(200, TENSORPIX.doc()))
    states: list[bool] = []

    async def main() -> None:
        await TensorPixHook().aget_job(TP_ID)
        (client,) = api.async_clients
        states.append(client.is_closed)
        await TensorPixHook().aget_job(TP_ID)  # reused while lingering
        states.append(client.is_closed)
        await asyncio.sleep(0.2)
        states.append(client.is_closed)

    asyncio.run(main())
    assert states == [False, False, True]
    assert len(api.async_clients) == 1


def test_different_event_loops_get_different_clients(api):
    api.script(api.json(200, TENSORPIX.doc()))
    hook = TensorPixHook()
    asyncio.run(hook.aget_job(TP_ID))
    asyncio.run(hook.aget_job(TP_ID))
    assert len(api.async_clients) == 2
    assert api.async_clients[0] is not api.async_clients[1]


def test_different_connections_get_different_clients(api, connections):
    connections("tensorpix_other", "tensorpix", password="canary-sk-other-key-0000")
    api.script(api.json(200, TENSORPIX.doc()))

    async def main() -> None:
        await TensorPixHook().aget_job(TP_ID)
        await TensorPixHook("tensorpix_other").aget_job(TP_ID)

    asyncio.run(main())
    assert len(api.async_clients) == 2
    assert [r.headers["Authorization"] for r in api.requests] == [
        f"Token {CANARY_KEY}",
        "Token canary-sk-other-key-0000",
    ]


def test_poll_returns_the_servers_poll_hint(api):
    api.script(api.json(200, AIHUBMIX.doc(), headers={"openai-poll-after-ms": "2500"}), api.json(200, AIHUBMIX.doc()))

    async def main() -> list[Any]:
        hook = AIHubMixHook()
        return [await hook.apoll_job(AHM_ID), await hook.apoll_job(AHM_ID)]

    hinted, plain = asyncio.run(main())
    assert hinted.poll_after == 2.5
    assert plain.poll_after is None
    assert hinted.job.status is JobStatus.RUNNING


# ----- test_connection --------------------------------------------------------------------------


def test_connection_works_when_the_probe_is_not_found(vendor, api):
    api.script(api.json(404, {"detail": "Not found."}))
    ok, message = vendor.hook().test_connection()
    assert (ok, message) == (True, f"Works: {vendor.base_url} accepted the API key.")
    (request,) = api.requests
    probe = vendor.hook.probe_job_id
    assert probe in request.url.raw_path.decode()
    assert request.headers["Authorization"] == f"{vendor.scheme} {CANARY_KEY}"


@pytest.mark.parametrize("status", [401, 403])
def test_connection_reports_a_rejected_key(vendor, api, status):
    api.script(api.json(status, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}))
    ok, message = vendor.hook().test_connection()
    assert ok is False
    assert message == (
        f"Key rejected by {vendor.base_url} (HTTP {status}): Incorrect API key provided (code invalid_api_key)"
    )
    assert len(api.requests) == 1


def test_connection_reports_a_rejected_key_without_a_message(vendor, api):
    api.script(api.raw(401, b""))
    ok, message = vendor.hook().test_connection()
    assert (ok, message) == (False, f"Key rejected by {vendor.base_url} (HTTP 401): the API key was rejected")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            "Host unreachable: could not reach https://gateway.invalid/v1: [Errno -2] Name or service not known",
        ),
        (
            httpx.ConnectTimeout("timed out"),
            "Host unreachable: timed out talking to https://gateway.invalid/v1 (ConnectTimeout)",
        ),
    ],
    ids=["dns", "timeout"],
)
def test_connection_reports_an_unreachable_host(api, connections, sleeps, error, expected):
    connections("aihubmix_default", "aihubmix", host="https://gateway.invalid/v1")
    api.script(error)
    assert AIHubMixHook().test_connection() == (False, expected)


def test_connection_reports_a_server_error(vendor, api, sleeps):
    api.script(api.json(500, {"detail": "boom"}))
    ok, message = vendor.hook().test_connection()
    assert (ok, message) == (False, f"Host unreachable: {vendor.base_url} answered HTTP 500 (boom)")


def test_connection_reports_a_web_page_instead_of_the_api(vendor, api):
    api.script(api.raw(200, b"<!DOCTYPE html><html>Sign in</html>", {"content-type": "text/html"}))
    ok, message = vendor.hook().test_connection()
    assert (ok, message) == (
        False,
        f"Host unreachable: {vendor.base_url} answered with an HTML page (text/html) instead of JSON; "
        "it starts '<!DOCTYPE html><html>Sign in</html>'",
    )


@pytest.mark.parametrize(
    "reply",
    [
        ("json", 404, {"detail": "Not found."}),
        ("json", 401, {"detail": "Invalid token."}),
        ("json", 503, {"detail": "down"}),
        ("error", httpx.ConnectError("refused")),
    ],
    ids=["works", "rejected", "unavailable", "unreachable"],
)
def test_connection_messages_name_no_temporary_conn_id_no_probe_job_and_no_retry_advice(
    vendor, api, connections, sleeps, reply
):
    """Airflow's UI tests a copy of the connection under a random id: the message must not show it."""
    connections("BuASHB3Q", vendor.name)
    api.script(api.json(reply[1], reply[2]) if reply[0] == "json" else reply[1])
    _, message = vendor.hook("BuASHB3Q").test_connection()
    assert "BuASHB3Q" not in message
    assert vendor.hook.probe_job_id not in message
    assert " job " not in message
    assert "retried" not in message
    assert CANARY_KEY not in message


def test_connection_reports_a_missing_key_without_a_request(vendor, api, connections):
    connections("BuASHB3Q", vendor.name, password="")
    ok, message = vendor.hook("BuASHB3Q").test_connection()
    assert ok is False
    assert message.startswith("This connection has no API key.")
    assert "BuASHB3Q" not in message
    assert api.requests == []


def test_connection_reports_a_bad_host_without_a_request(vendor, api, connections):
    connections(f"{vendor.name}_default", vendor.name, host="ftp://example.com")
    ok, message = vendor.hook().test_connection()
    assert ok is False
    assert "not an http(s) URL" in message
    assert api.requests == []


# ----- the canary, across every error above -----------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        ("json", 400, {"error": {"message": "bad size", "code": "invalid_value"}}),
        ("json", 401, {"detail": "Invalid token."}),
        ("json", 403, {"detail": "Forbidden"}),
        ("json", 404, {"error": {"message": "not found"}}),
        ("json", 408, {}),
        ("json", 429, {"error": {"message": "quota", "code": "insufficient_quota"}}),
        ("json", 500, {}),
        ("json", 503, {}),
        ("raw", 200, b"<html>login</html>"),
        ("json", 200, {"no_id": True}),
        ("raw", 302, b""),
        ("error", 0, httpx.ConnectError("refused")),
        ("error", 0, httpx.ReadTimeout("slow")),
    ],
    ids=lambda r: f"{r[0]}-{r[1]}" if isinstance(r, tuple) else str(r),
)
def test_no_error_shows_the_key(vendor, api, fetch_job, sleeps, leak_guard, reply):
    kind, status, body = reply
    if kind == "json":
        api.script(api.json(status, body, {"x-request-id": "req-1"}))
    elif kind == "raw":
        api.script(api.raw(status, body))
    else:
        api.script(body)
    with leak_guard.raises(VideoAPIError) as info:
        fetch_job(vendor.hook(), vendor.job_id)
    error = info.value
    for attribute in vars(error).values():
        assert CANARY_KEY not in str(attribute)
    assert CANARY_KEY not in str(error.__cause__)
    assert CANARY_KEY not in str(error.__context__)
    # leak_guard checks str, repr, the pickled bytes and every captured log line at teardown
