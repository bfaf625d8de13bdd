"""Reading one API reply: the body under a size cap, then a :class:`Reply` or this provider's error.

The one place that maps HTTP outcomes to meanings (statuses and transport failures to errors), reads
bodies under a cap (also after gzip/deflate) and the server's wait hints (``Retry-After``,
``openai-poll-after-ms``). Secret scrubbing, which replies and messages go through, is apart in
:mod:`.scrub`; only its every-poll shortcut (:func:`key_cannot_be_in`) is here. Every server-supplied
string put into a message goes through :func:`shown` (scrubbed, one printable line, then cut). Over
~400 lines on purpose: the status -> error mapping and the readers share the body, header and cut rules.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
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
from airflow_provider_vidjobs.http.decoding import CappedDecoder, DecodedTooLarge
from airflow_provider_vidjobs.http.scrub import MAX_ENCODED_WIDTH, scrub_document, scrub_message
from airflow_provider_vidjobs.printable import printable

#: Largest JSON body we read; a bigger one is refused without reading it (a misrouted download, a bug).
MAX_JSON_BYTES = 8 * 1024 * 1024

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray")

#: Object storage (S3, GCS, Azure, R2) errors: ``<Error><Code>AccessDenied</Code><Message>...</Message>``.
_XML_CODE = re.compile(r"<Code>([^<]{1,100})</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]{1,500})</Message>")
#: Keys whose every character JSON can escape only as ``\\u00XX`` (see :func:`key_cannot_be_in`).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


def shown(text: str | None, secret: str | None, limit: int) -> str | None:
    """Server-supplied ``text`` as it may appear in a message: the key scrubbed out in every spelling
    (BEFORE the cut, so a key straddling it cannot leave a piece), on one printable line, at most
    ``limit`` characters (plus "..." when cut)."""
    if text is None:
        return None
    margin = MAX_ENCODED_WIDTH * len(secret) if secret else 0
    text = printable(scrub_message(text[: limit + margin], secret) or "").strip()
    return text if len(text) <= limit else text[:limit] + "..."


def request_id(headers: Mapping[str, str], secret: str | None = None) -> str | None:
    """The vendor's request id from whichever header carries it, for support tickets (scrubbed: a server
    may echo anything in a header, the key included)."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return shown(value, secret, 128) or None
    return None


#: Characters of an error body read for the vendor's message.
_ERROR_TEXT = 4096


def vendor_message(body: bytes, secret: str | None = None) -> tuple[str | None, str | None]:
    """(message, code) from an error body: OpenAI's ``{"error": {...}}``, DRF's ``{"detail"}``, or text.

    The key is scrubbed from the text before anything is parsed or cut, and from what is picked out of it
    again (a JSON escape decoded may spell it); both come back on one printable line.
    """
    margin = MAX_ENCODED_WIDTH * len(secret) if secret else 0
    text = (scrub_message(body[: _ERROR_TEXT + margin].decode("utf-8", "replace"), secret) or "").strip()
    message, code = _vendor_words(text[:_ERROR_TEXT])
    return shown(message, secret, 500), shown(code, secret, 100)


def _vendor_words(text: str) -> tuple[str | None, str | None]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser's recursion limit
        data = None  # (and no parser error, which holds the whole text, is kept on any chain)
    if data is None:
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
    message, code = vendor_message(body, secret)
    if code and message and code not in message:
        message = f"{message} (code {code})"
    common: dict[str, Any] = {
        "provider": provider,
        "job_id": job_id,
        "http_status": status,
        "vendor_message": message,
        "request_id": request_id(headers, secret),
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
            f"unexpected HTTP status {status}: a redirect to {shown(location, secret, 300)}, which is not followed "
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
    except RecursionError:
        looks = f"{len(body)} bytes of JSON nested too deeply to read"
    except ValueError:
        looks = "an HTML page" if body.lstrip()[:1] == b"<" else f"{len(body)} bytes that are not valid JSON"
    # Raised out here, not in the except block: there the parser's error (whose ``doc`` is the whole raw
    # body, key and all) would become the new error's ``__context__``, where error trackers look.
    content_type = shown(headers.get("content-type"), secret, 100) or "no content type"
    raise UnreadableResponseError(
        f"the API answered with {looks} ({content_type}) instead of JSON; it starts {preview(body, secret)!r}",
        provider=provider,
        job_id=job_id,
        http_status=status,
        request_id=request_id(headers, secret),
        hint="Check that the connection host is the API's base URL (not a web page or a proxy login)",
    )


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
    """The first :data:`PREVIEW_BYTES` of a body as text, without the key or any URL's signature.

    Scrubbed BEFORE the cut (a key straddling it would otherwise leave its first characters), from a
    window long enough to hold the key in its widest spelling; shown with ``!r``, so control characters
    appear escaped, never raw.
    """
    margin = MAX_ENCODED_WIDTH * len(secret) if secret else 0
    text = body[: PREVIEW_BYTES + margin].decode("utf-8", "replace")
    return url_secrets.mask_in_text(scrub_message(text, secret) or "")[:PREVIEW_BYTES]


def too_large(size: int | None, *, provider: str, job_id: str | None, status: int) -> InvalidResponseError:
    shown = f"{size} bytes" if size is not None else "more than the limit"
    return InvalidResponseError(
        f"the API sent a response of {shown}; at most {MAX_JSON_BYTES} bytes are read for a job",
        provider=provider,
        job_id=job_id,
        http_status=status,
        hint="Check that the connection host points at the API, not at a file server",
    )


# --- The server's wait hints ---------------------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from ``httpx.Headers`` or a plain dict."""
    value = headers.get(name)
    if value is None and not hasattr(headers, "get_list"):  # plain dict: search any spelling
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if value else None


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, then ``Retry-After``), or None."""
    millis = _header(headers, "retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_poll_after(headers: Mapping[str, str]) -> float | None:
    """The server's suggested delay before the next status poll (``openai-poll-after-ms``), in seconds."""
    value = _header(headers, "openai-poll-after-ms")
    if not value:
        return None
    try:
        return max(0.0, float(value) / 1000)
    except ValueError:
        return None


# --- Reading a reply ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A successful API answer: decoded JSON plus the headers that steer polling."""

    payload: Any
    status_code: int
    headers: Mapping[str, str]

    @property
    def poll_after(self) -> float | None:
        """The server's suggested wait before the next poll (``openai-poll-after-ms``), in seconds."""
        return parse_poll_after(self.headers)


class _Capped:
    """The size cap of one body being read: refuses a declared or decoded size over ``MAX_JSON_BYTES``."""

    __slots__ = ("chunks", "decoder", "job_id", "provider", "response", "size")

    def __init__(self, response: httpx.Response, provider: str, job_id: str | None) -> None:
        self.response, self.provider, self.job_id = response, provider, job_id
        length = response.headers.get("content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > MAX_JSON_BYTES:
            raise self.too_large(int(length))
        encoding = response.headers.get("content-encoding", "")
        # None when already read (and decoded) by httpx, or a coding httpx decodes itself.
        handled = not response.is_stream_consumed and CappedDecoder.handles(encoding)
        self.decoder = CappedDecoder(encoding, MAX_JSON_BYTES) if handled else None
        self.chunks: list[bytes] = []
        self.size = 0

    def too_large(self, size: int | None) -> VideoAPIError:
        return too_large(size, provider=self.provider, job_id=self.job_id, status=self.response.status_code)

    def add(self, chunk: bytes) -> None:
        chunk = self.decoder.decode(chunk) if self.decoder is not None else chunk
        self.size += len(chunk)
        if self.size > MAX_JSON_BYTES:
            raise DecodedTooLarge
        self.chunks.append(chunk)


def read_capped(response: httpx.Response, provider: str, job_id: str | None) -> bytes:
    """The whole body of a blocking response, at most ``MAX_JSON_BYTES`` (decoded)."""
    capped = _Capped(response, provider, job_id)
    try:
        for chunk in response.iter_raw() if capped.decoder is not None else response.iter_bytes():
            capped.add(chunk)
    except DecodedTooLarge:
        raise capped.too_large(None) from None
    return b"".join(capped.chunks)


async def aread_capped(response: httpx.Response, provider: str, job_id: str | None) -> bytes:
    """:func:`read_capped` for an async response; a body already in memory (every poll) is taken whole."""
    stream = response.stream
    if isinstance(stream, httpx.ByteStream) and "content-encoding" not in response.headers:
        body = b"".join(stream)  # already in memory (a job's JSON, read whole by the transport)
        if len(body) > MAX_JSON_BYTES:
            raise too_large(len(body), provider=provider, job_id=job_id, status=response.status_code)
        return body
    capped = _Capped(response, provider, job_id)
    try:
        async for chunk in response.aiter_raw() if capped.decoder is not None else response.aiter_bytes():
            capped.add(chunk)
    except DecodedTooLarge:
        raise capped.too_large(None) from None
    return b"".join(capped.chunks)


def to_reply(
    response: httpx.Response, body: bytes, *, provider: str, job_id: str | None, conn_id: str, secret: str | None
) -> Reply:
    """A 2xx as a :class:`Reply` (JSON decoded, key scrubbed), anything else raised as this provider's error.

    A 204, or an empty 2xx to anything but a read, has no payload (``None``): cancels and deletes may
    answer so. An empty answer to a GET is still an unreadable one.
    """
    status = response.status_code
    if status == 204 or (200 <= status < 300 and not body.strip() and response.request.method != "GET"):
        return Reply(None, status, response.headers)  # a cancel or delete answered with no content
    if 200 <= status < 300:
        payload = parse_json(body, response.headers, provider=provider, job_id=job_id, status=status, secret=secret)
        clean = payload if not secret or key_cannot_be_in(body, secret) else scrub_document(payload, secret)
        return Reply(clean, status, response.headers)
    raise error_for_status(
        status, response.headers, body, provider=provider, job_id=job_id, conn_id=conn_id, secret=secret
    )


def key_cannot_be_in(raw: bytes, secret: str) -> bool:
    """True when no string decoded from the JSON bytes ``raw`` can contain ``secret``.

    In UTF-8 JSON (no NUL among the first bytes, as UTF-16 and UTF-32 would have) a secret inside a
    string stands in ``raw`` as it is unless an escape spells part of it. A key of letters, digits,
    ``-``, ``_`` and ``.`` (what the APIs issue) can only be spelled by ``\\u00XX`` escapes, so other
    escapes (``\\n``, ``\\"``, ``\\u2588``: Replicate's logs have them) leave the answer to a few
    substring searches, run on every poll. Any other key falls back to "no backslash at all".
    """
    if b"\x00" in raw[:4] or secret.encode("utf-8", "surrogatepass") in raw:
        return False
    if b"\\" not in raw:
        return True
    return _PLAIN_KEY.fullmatch(secret) is not None and b"\\u00" not in raw
