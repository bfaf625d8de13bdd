"""Error bodies shared by every simulated API: reason phrases, an nginx front end's HTML pages, and the
S3-like XML ``<Error>`` documents of pre-signed storage. Each API's own error shapes live in its module.
"""

from __future__ import annotations

import secrets
from xml.sax.saxutils import escape

from airflow_provider_vidjobs.testing.simulator.http import Response, text_response

HTML = b"text/html; charset=utf-8"
XML = b"application/xml"

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


def nginx_html(status: int) -> Response:
    """The HTML an nginx front end sends for a 5xx (or any status) it generates itself."""
    title = f"{status} {reason(status)}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return text_response(status, page, HTML)


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
