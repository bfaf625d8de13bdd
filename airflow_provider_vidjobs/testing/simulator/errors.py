"""Error bodies as each party really sends them.

TensorPix is a Django REST framework app: ``{"detail": ...}`` JSON, and Django/nginx HTML pages for
unrouted paths and 5xx. The OpenAI-shaped API uses ``{"error": {message, type, param, code}}``.
Pre-signed storage answers like S3: XML ``<Error>`` documents.
"""

from __future__ import annotations

import secrets
from xml.sax.saxutils import escape

from airflow_provider_vidjobs.testing.simulator.http import HeaderList, Response, json_response, text_response

HTML = b"text/html; charset=utf-8"
XML = b"application/xml"

# --- TensorPix (Django REST framework) -------------------------------------------------------

TP_NOT_PROVIDED = "Authentication credentials were not provided."
TP_INVALID_TOKEN = "Invalid token."  # noqa: S105 - DRF's message, not a secret
TP_NOT_FOUND = "Not found."

_DJANGO_404 = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"
)
_DJANGO_500 = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n'
    "  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def reason(status: int) -> str:
    """Short reason phrase for a status code."""
    return _REASONS.get(status, "Error")


def tp_detail(status: int, detail: str, headers: HeaderList | None = None) -> Response:
    """A DRF error: ``{"detail": "..."}``."""
    return json_response(status, {"detail": detail}, headers)


def tp_unauthorized(detail: str) -> Response:
    """DRF TokenAuthentication's 401, with its ``WWW-Authenticate: Token`` challenge."""
    return tp_detail(401, detail, [(b"www-authenticate", b"Token")])


def django_html_404() -> Response:
    """Django's own 404 page (DEBUG off) for a path no URL pattern matches."""
    return text_response(404, _DJANGO_404, HTML)


def nginx_html(status: int) -> Response:
    """The HTML an nginx front end sends for a 5xx (or any status) it generates itself."""
    title = f"{status} {reason(status)}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return text_response(status, page, HTML)


def tp_status_error(status: int, retry_after_s: float | None) -> Response:
    """What TensorPix would plausibly send for an injected status: DRF JSON below 500, HTML above."""
    if status == 500:
        return text_response(500, _DJANGO_500, HTML)
    if status > 500:
        return nginx_html(status)
    if status == 429:
        if retry_after_s is not None:
            return tp_detail(429, f"Request was throttled. Expected available in {round(retry_after_s)} seconds.")
        return tp_detail(429, "Request was throttled.")
    if status == 401:
        return tp_unauthorized(TP_INVALID_TOKEN)
    if status == 404:
        return tp_detail(404, TP_NOT_FOUND)
    return tp_detail(status, f"{reason(status)} (simulated).")


# --- OpenAI-shaped (AIHubMix) ----------------------------------------------------------------


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> Response:
    """The OpenAI error envelope."""
    return json_response(status, {"error": {"message": message, "type": type_, "param": param, "code": code}})


def openai_missing_key() -> Response:
    """401 when no Bearer key was sent."""
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )


def openai_invalid_key(key: str) -> Response:
    """401 for an unknown or revoked key (the key is masked as OpenAI does)."""
    masked = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
    return openai_error(401, f"Incorrect API key provided: {masked}.", code="invalid_api_key")


def openai_not_found(video_id: str) -> Response:
    """404 for an unknown or deleted video id."""
    return openai_error(404, f"Video with id '{video_id}' not found.", param="video_id", code="not_found")


def openai_status_error(status: int) -> Response:
    """OpenAI-shaped body for an injected status."""
    if status == 429:
        return openai_error(
            429,
            "Rate limit reached for requests. Please try again later.",
            type_="requests",
            code="rate_limit_exceeded",
        )
    if status >= 500:
        messages = {
            500: "The server had an error while processing your request. Sorry about that!",
            502: "Bad gateway.",
            503: "The server is overloaded or not ready yet.",
            504: "Gateway timeout.",
        }
        return openai_error(status, messages.get(status, reason(status)), type_="server_error")
    if status == 401:
        return openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
    if status == 404:
        return openai_error(404, "Not found (simulated).", code="not_found")
    return openai_error(status, f"{reason(status)} (simulated).")


# --- Pre-signed storage (S3-like) ------------------------------------------------------------


def s3_error(status: int, code: str, message: str, **extra: str) -> Response:
    """An S3 ``<Error>`` XML document."""
    parts = [f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"]
    parts += [f"<{k}>{escape(v)}</{k}>" for k, v in extra.items()]
    parts.append(f"<RequestId>{secrets.token_hex(8).upper()}</RequestId>")
    doc = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    return text_response(status, doc, XML)


def s3_status_error(status: int) -> Response:
    """S3's body for an injected status."""
    if status == 503:
        return s3_error(503, "SlowDown", "Please reduce your request rate.")
    if status >= 500:
        return s3_error(status, "InternalError", "We encountered an internal error. Please try again.")
    if status == 403:
        return s3_error(403, "AccessDenied", "Access Denied")
    if status == 404:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return s3_error(status, "InvalidRequest", f"{reason(status)} (simulated).")
