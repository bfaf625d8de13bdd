"""Turning HTTP outcomes into this provider's errors: the one place that maps statuses to meanings.

Secret scrubbing, which these messages use, is apart in :mod:`.scrub`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from airflow_provider_vidjobs import url_secrets
from airflow_provider_vidjobs.exceptions import (
    APIUnavailableError,
    AuthenticationError,
    InvalidRequestError,
    InvalidResponseError,
    JobNotFoundError,
    RateLimitedError,
    UnreadableResponseError,
    VideoAPIError,
)
from airflow_provider_vidjobs.http.scrub import scrub
from airflow_provider_vidjobs.retry import parse_retry_after

#: Largest JSON body we read; a bigger one is refused without reading it (a misrouted download, a bug).
MAX_JSON_BYTES = 8 * 1024 * 1024

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")

#: Object storage (S3, GCS, Azure, R2) errors: ``<Error><Code>AccessDenied</Code><Message>...</Message>``.
_XML_CODE = re.compile(r"<Code>([^<]{1,100})</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]{1,500})</Message>")


def request_id(headers: Mapping[str, str]) -> str | None:
    """The vendor's request id from whichever header carries it, for support tickets."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value[:128]
    return None


def vendor_message(body: bytes) -> tuple[str | None, str | None]:
    """(message, code) from an error body: OpenAI's ``{"error": {...}}``, DRF's ``{"detail"}``, or text."""
    text = body[:4096].decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser's recursion limit
        return _markup_message(text) if text.startswith("<") else (text[:300] or None, None)
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            code = error.get("code") or error.get("type")
            return _str(error.get("message")), _str(code)
        if isinstance(error, str):
            return error, None
        for key in ("detail", "message", "msg"):
            if isinstance(data.get(key), str):
                return data[key], _str(data.get("code"))
    return text[:300] or None, None


def _markup_message(text: str) -> tuple[str | None, str | None]:
    """A storage service's XML error says what went wrong ("Request has expired"); an HTML page does not."""
    message, code = _XML_MESSAGE.search(text), _XML_CODE.search(text)
    if message is None:
        return "an HTML page", None
    return html.unescape(message.group(1)).strip(), html.unescape(code.group(1)).strip() if code else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def error_for_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    provider: str,
    job_id: str | None,
    conn_id: str,
    secret: str | None = None,
) -> VideoAPIError:
    """The error that an unsuccessful HTTP status means, with the vendor's words and what to do."""
    message, code = vendor_message(body)
    message, code = scrub(message, secret), scrub(code, secret)
    if code and message and code not in message:
        message = f"{message} (code {code})"
    common: dict[str, Any] = {
        "provider": provider,
        "job_id": job_id,
        "http_status": status,
        "vendor_message": message,
        "request_id": request_id(headers),
    }
    if status == 401:
        return AuthenticationError(
            "the API key was rejected",
            hint=f"Check the API key in Airflow connection {conn_id!r}; it may be wrong or revoked",
            **common,
        )
    if status == 403:
        return AuthenticationError(
            "access was refused",
            hint=f"The key in connection {conn_id!r} is not allowed to read this job; check the account",
            **common,
        )
    if status == 404:
        return JobNotFoundError(
            "no such job",
            hint=f"Check the job id, and that connection {conn_id!r} uses the key of the account that created the job",
            **common,
        )
    if status == 429:
        return RateLimitedError(
            "rate limited (too many requests or quota used up)",
            retry_after=parse_retry_after(headers),
            hint="Requests are retried with backoff; if this persists, check your plan's quota",
            **common,
        )
    if status == 408 or status >= 500:
        return APIUnavailableError(
            "the API is unavailable",
            retry_after=parse_retry_after(headers),
            hint="This is usually temporary and is retried; check the vendor's status page if it persists",
            **common,
        )
    if 400 <= status < 500:
        return InvalidRequestError(
            "the API refused the request",
            hint="Check the parameters given to the task",
            **common,
        )
    location = headers.get("location") if 300 <= status < 400 else None
    if location:
        # Never followed: the key would go with the request to wherever the answer points.
        return VideoAPIError(
            f"unexpected HTTP status {status}: a redirect to {scrub(location[:300], secret)}, which is not followed "
            "so that the API key is not sent there",
            hint=f"Set the host of connection {conn_id!r} to the API's own base URL (the redirect's, if you trust it)",
            **common,
        )
    return VideoAPIError(f"unexpected HTTP status {status}", **common)


#: OpenSSL's reason in ``[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: <reason> (_ssl.c:1006)``.
_TLS_REASON = re.compile(r"certificate verify failed: (.+?)(?: \(_ssl\.c:\d+\))?$")


def error_for_transport(error: httpx.HTTPError, *, provider: str, job_id: str | None, base_url: str) -> VideoAPIError:
    """A timeout or connection failure as a retryable error that says where we tried to go.

    An untrusted certificate is not retryable: it will not fix itself, and a wait that sat it out would
    only fail after its whole failure budget (or, polling in poke mode, never until its timeout).
    """
    if isinstance(error, httpx.TimeoutException):
        what = f"timed out talking to {base_url} ({type(error).__name__})"
    else:
        reason = str(error) or type(error).__name__
        what = f"could not reach {base_url}: {reason}"
    if "CERTIFICATE_VERIFY_FAILED" in str(error):
        why = _TLS_REASON.search(str(error))
        return VideoAPIError(
            f"TLS certificate of {base_url} was not trusted" + (f" ({why.group(1)})" if why else ""),
            provider=provider,
            job_id=job_id,
            hint="If the server uses a private CA, name its bundle (a PEM file) in the connection extra 'ca_bundle'; "
            "if the certificate is for another name, set the connection host to that name",
        )
    return APIUnavailableError(
        what,
        provider=provider,
        job_id=job_id,
        hint="Check the connection host and the network; transient failures are retried",
    )


#: Bytes of an unreadable body shown in its error (and so in a wait's log line), scrubbed first.
PREVIEW_BYTES = 200


def parse_json(
    body: bytes,
    headers: Mapping[str, str],
    *,
    provider: str,
    job_id: str | None,
    status: int,
    secret: str | None = None,
) -> Any:
    """The decoded JSON of a success response, or :class:`UnreadableResponseError` saying what came instead.

    An integer too long for Python to convert (over 4300 digits) is read as null, like any other
    unusable number, rather than making the whole document unreadable.
    """
    try:
        return _loads(body)
    except (ValueError, RecursionError) as error:
        content_type = headers.get("content-type", "no content type")
        if isinstance(error, RecursionError):
            looks = f"{len(body)} bytes of JSON nested too deeply to read"
        elif body.lstrip()[:1] == b"<":
            looks = "an HTML page"
        else:
            looks = f"{len(body)} bytes that are not valid JSON"
        raise UnreadableResponseError(
            f"the API answered with {looks} ({content_type}) instead of JSON; it starts {preview(body, secret)!r}",
            provider=provider,
            job_id=job_id,
            http_status=status,
            request_id=request_id(headers),
            hint="Check that the connection host is the API's base URL (not a web page or a proxy login)",
        ) from None


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        if "integer string conversion" not in str(error):
            raise
    return json.loads(body, parse_int=_int_or_none)  # only on this rare path: a Python callback per integer


def _int_or_none(digits: str) -> int | None:
    try:
        return int(digits)
    except ValueError:
        return None


def preview(body: bytes, secret: str | None) -> str:
    """The first :data:`PREVIEW_BYTES` of a body as text, without the key or any URL's signature."""
    text = body[:PREVIEW_BYTES].decode("utf-8", "replace")
    return url_secrets.mask_in_text(scrub(text, secret) or "")


def too_large(size: int | None, *, provider: str, job_id: str | None, status: int) -> InvalidResponseError:
    shown = f"{size} bytes" if size is not None else "more than the limit"
    return InvalidResponseError(
        f"the API sent a response of {shown}; at most {MAX_JSON_BYTES} bytes are read for a job",
        provider=provider,
        job_id=job_id,
        http_status=status,
        hint="Check that the connection host points at the API, not at a file server",
    )
