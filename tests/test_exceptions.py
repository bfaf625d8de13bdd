"""The error hierarchy: what each message says, how HTTP outcomes map to classes, and pickling."""

from __future__ import annotations

import pickle

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_vidjobs.exceptions import (
    APIUnavailableError,
    AuthenticationError,
    InvalidRequestError,
    InvalidResponseError,
    JobFailedError,
    JobNotFoundError,
    RateLimitedError,
    TransientAPIError,
    UnreadableResponseError,
    VideoAPIError,
    VideoJobError,
)
from airflow_provider_vidjobs.http import responses
from airflow_provider_vidjobs.models import JobError, JobStatus, VideoJob

FIELDS = {
    "provider": "aihubmix",
    "job_id": "dmlkZW8tMTIz",
    "http_status": 503,
    "vendor_message": "upstream overloaded",
    "request_id": "req_8f2c",
    "hint": "Try later",
}


def failed_job(**changes: object) -> VideoJob:
    data: dict[str, object] = {
        "provider": "aihubmix",
        "job_id": "dmlkZW8tMTIz",
        "status": JobStatus.FAILED,
        "vendor_status": "failed",
        "error": JobError(code="moderation_blocked", message="The prompt violates the content policy."),
    }
    data.update(changes)
    return VideoJob.model_validate(data)


# ----- hierarchy and text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "parents"),
    [
        (InvalidRequestError, (VideoAPIError,)),
        (AuthenticationError, (VideoAPIError,)),
        (JobNotFoundError, (VideoAPIError,)),
        (InvalidResponseError, (VideoAPIError,)),
        (RateLimitedError, (TransientAPIError, VideoAPIError)),
        (APIUnavailableError, (TransientAPIError, VideoAPIError)),
        (JobFailedError, ()),
    ],
)
def test_hierarchy(cls, parents):
    for parent in (*parents, VideoJobError, AirflowException):
        assert issubclass(cls, parent)
    if cls is not JobFailedError:
        assert not issubclass(cls, JobFailedError)
    assert not issubclass(JobFailedError, VideoAPIError)


def test_message_names_everything_in_order():
    error = APIUnavailableError("the API is unavailable", retry_after=3.0, **FIELDS)
    assert str(error) == (
        "aihubmix job dmlkZW8tMTIz: the API is unavailable. HTTP 503. API says: upstream overloaded. "
        "request id req_8f2c. Try later"
    )
    assert error.retry_after == 3.0
    assert error.summary == "the API is unavailable"


def test_message_leaves_out_what_is_not_known():
    assert str(VideoAPIError("something odd")) == "something odd"
    assert str(VideoAPIError("odd", provider="tensorpix")) == "tensorpix: odd"
    assert str(VideoAPIError("odd", job_id="j1")) == "job j1: odd"


def test_vendor_message_is_flattened_and_clipped():
    error = InvalidRequestError("refused", vendor_message="line one\n\n   line\ttwo " + "x" * 1000)
    assert error.vendor_message.startswith("line one line two x")
    assert len(error.vendor_message) == 503
    assert error.vendor_message.endswith("...")
    assert "\n" not in str(error)


ALL_API_ERRORS = [
    InvalidRequestError("refused", **FIELDS),
    AuthenticationError("the API key was rejected", **FIELDS),
    JobNotFoundError("no such job", **FIELDS),
    InvalidResponseError("not JSON", **FIELDS),
    RateLimitedError("rate limited", retry_after=12.5, **FIELDS),
    APIUnavailableError("unavailable", retry_after=None, **FIELDS),
    VideoAPIError("unexpected HTTP status 302", **FIELDS),
    VideoJobError("plain"),
]


@pytest.mark.parametrize("error", ALL_API_ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickle(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == str(error)
    assert again.args == error.args
    for name in ("provider", "job_id", "http_status", "vendor_message", "request_id", "hint", "summary"):
        assert getattr(again, name) == getattr(error, name)
    if isinstance(error, TransientAPIError):
        assert again.retry_after == error.retry_after


def test_job_failed_error_carries_the_job_and_the_vendor_words():
    job = failed_job()
    error = JobFailedError(job)
    assert error.job is job
    assert error.error_code == "moderation_blocked"
    assert error.vendor_message == "The prompt violates the content policy."
    assert error.provider == "aihubmix"
    assert error.job_id == "dmlkZW8tMTIz"
    text = str(error)
    assert text.startswith(
        "aihubmix job dmlkZW8tMTIz: ended failed (API status 'failed'), error code 'moderation_blocked'"
    )
    assert "API says: The prompt violates the content policy." in text
    assert "a failed job is not retried" in text


def test_job_failed_error_for_a_cancelled_job_without_details():
    job = failed_job(status=JobStatus.CANCELLED, vendor_status=None, error=None)
    error = JobFailedError(job, hint="Cancelled by someone")
    assert error.error_code is None
    assert error.vendor_message is None
    assert str(error) == "aihubmix job dmlkZW8tMTIz: ended cancelled. Cancelled by someone"


@pytest.mark.parametrize("hint", [None, "custom hint"])
def test_job_failed_error_survives_pickle(hint):
    error = JobFailedError(failed_job(), hint=hint)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is JobFailedError
    assert again.job == error.job
    assert again.error_code == "moderation_blocked"
    assert str(again) == str(error)


# ----- HTTP status -> error ---------------------------------------------------------------------


def error_for(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> VideoAPIError:
    return responses.error_for_status(
        status, httpx.Headers(headers or {}), body, provider="tensorpix", job_id="j-1", conn_id="tensorpix_default"
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, JobNotFoundError),
        (408, APIUnavailableError),
        (409, InvalidRequestError),
        (413, InvalidRequestError),
        (422, InvalidRequestError),
        (429, RateLimitedError),
        (500, APIUnavailableError),
        (502, APIUnavailableError),
        (503, APIUnavailableError),
        (504, APIUnavailableError),
    ],
)
def test_error_class_per_status(status, cls):
    error = error_for(status)
    assert type(error) is cls
    assert error.http_status == status
    assert f"HTTP {status}" in str(error)
    assert "tensorpix job j-1" in str(error)


def test_unexpected_status_is_a_plain_api_error():
    error = error_for(302)
    assert type(error) is VideoAPIError
    assert "unexpected HTTP status 302" in str(error)


def test_auth_errors_point_at_the_connection():
    assert "Check the API key in Airflow connection 'tensorpix_default'" in str(error_for(401))
    assert "connection 'tensorpix_default'" in str(error_for(403))
    assert "connection 'tensorpix_default'" in str(error_for(404))


def test_rate_limit_and_unavailable_carry_the_server_wait():
    assert error_for(429, headers={"Retry-After": "7"}).retry_after == 7.0
    assert error_for(429).retry_after is None
    assert error_for(503, headers={"retry-after-ms": "1200"}).retry_after == 1.2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"error": {"message": "Invalid API key provided", "type": "invalid_request_error",'
            b' "param": null, "code": "invalid_api_key"}}',
            "Invalid API key provided (code invalid_api_key)",
        ),
        (
            b'{"error": {"message": "quota exceeded: insufficient_quota", "code": "insufficient_quota"}}',
            "quota exceeded: insufficient_quota",
        ),
        (b'{"error": {"message": "busy", "type": "server_error"}}', "busy (code server_error)"),
        (b'{"error": "plain error text"}', "plain error text"),
        (b'{"detail": "Invalid token."}', "Invalid token."),
        (b'{"detail": "Not found.", "code": "not_found"}', "Not found. (code not_found)"),
        (b'{"message": "Too many requests"}', "Too many requests"),
        (b"Service Unavailable", "Service Unavailable"),
        (b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", "an HTML page"),
        (b"", None),
    ],
)
def test_vendor_message_is_read_from_openai_drf_and_text_bodies(body, message):
    error = error_for(400, body)
    assert error.vendor_message == message
    if message:
        assert f"API says: {message}" in str(error)
    else:
        assert "API says" not in str(error)


@pytest.mark.parametrize("header", ["X-Request-Id", "request-id", "x-amzn-RequestId", "CF-RAY"])
def test_request_id_is_read_from_the_usual_headers(header):
    error = error_for(500, headers={header: "req-42"})
    assert error.request_id == "req-42"
    assert "request id req-42" in str(error)


def test_request_id_is_truncated():
    assert error_for(500, headers={"X-Request-Id": "r" * 500}).request_id == "r" * 128


# ----- transport failures and bodies ------------------------------------------------------------


def test_timeout_error_says_where():
    error = responses.error_for_transport(
        httpx.ReadTimeout("timed out"), provider="aihubmix", job_id="v", base_url="https://aihubmix.com"
    )
    assert isinstance(error, APIUnavailableError)
    assert error.http_status is None
    assert "timed out talking to https://aihubmix.com (ReadTimeout)" in str(error)


def test_connection_error_says_where_and_why():
    error = responses.error_for_transport(
        httpx.ConnectError("[Errno 111] Connection refused"), provider="aihubmix", job_id="v", base_url="https://gw"
    )
    assert "could not reach https://gw: [Errno 111] Connection refused" in str(error)
    assert "Check the connection host" in str(error)


def test_untrusted_certificate_points_at_ca_bundle():
    error = responses.error_for_transport(
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        provider="aihubmix",
        job_id="v",
        base_url="https://gw.internal",
    )
    assert "TLS certificate of https://gw.internal was not trusted" in str(error)
    assert "ca_bundle" in str(error)


@pytest.mark.parametrize(
    ("body", "looks"),
    [
        (b"<html><body>Please log in</body></html>", "an HTML page"),
        (b"  \n<!doctype html>", "an HTML page"),
        (b"OK", "2 bytes that are not valid JSON"),
        (b"", "0 bytes that are not valid JSON"),
    ],
)
def test_parse_json_refuses_what_is_not_json(body, looks):
    headers = httpx.Headers({"content-type": "text/html; charset=utf-8", "x-request-id": "r1"})
    with pytest.raises(InvalidResponseError) as info:
        responses.parse_json(body, headers, provider="tensorpix", job_id="j", status=200)
    text = str(info.value)
    assert f"the API answered with {looks} (text/html; charset=utf-8) instead of JSON" in text
    assert "HTTP 200" in text
    assert "request id r1" in text
    assert "connection host" in text


def test_parse_json_returns_the_document():
    assert responses.parse_json(b'{"id": "x"}', httpx.Headers(), provider="p", job_id=None, status=200) == {"id": "x"}


def test_an_unreadable_body_is_shown_by_its_first_200_bytes_without_the_key_or_a_signature():
    """What a wait logs of a proxy's page or a cut-short job: enough to tell which, nothing secret."""
    key = "sk-preview-0123456789abcdef"
    body = (
        b'{"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "error": "bad key ' + key.encode() + b'", '
        b'"file": "https://storage.example.com/v.mp4?expires=1795450236&signature=3742f4aa0b1c2d3e4f5a", '
        + b'"prompt": "' + b"x" * 400
    )
    with pytest.raises(UnreadableResponseError) as info:
        responses.parse_json(body, httpx.Headers(), provider="tensorpix", job_id="j", status=200, secret=key)
    text = str(info.value)
    assert isinstance(info.value, InvalidResponseError)
    assert key not in text
    assert "bad key ***" in text
    assert "3742f4aa0b1c2d3e4f5a" not in text
    assert "signature=***" in text
    assert "x" * 200 not in text  # at most the first 200 bytes


def test_an_integer_too_long_to_convert_is_read_as_null():
    """Python refuses to turn a 5000-digit integer into an int; the rest of the document is still read."""
    body = b'{"id": "x", "progress": ' + b"9" * 5000 + b', "status": "running"}'
    assert responses.parse_json(body, httpx.Headers(), provider="p", job_id="x", status=200) == {
        "id": "x",
        "progress": None,
        "status": "running",
    }


def test_too_large_names_the_size_and_the_limit():
    error = responses.too_large(10**9, provider="tensorpix", job_id="j", status=200)
    assert isinstance(error, InvalidResponseError)
    assert f"1000000000 bytes; at most {responses.MAX_JSON_BYTES} bytes" in str(error)
    assert "more than the limit" in str(responses.too_large(None, provider="tensorpix", job_id="j", status=200))
