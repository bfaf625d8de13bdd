"""What "Test connection" says when the API cannot be used: the API's words, without retry advice or ids."""

from __future__ import annotations

from airflow_provider_vidjobs.exceptions import InvalidResponseError, TransientAPIError, VideoAPIError


def cause(error: VideoAPIError, base_url: str) -> str:
    """Why a connection test could not use the API, in the API's words, without retry advice or ids."""
    if error.http_status is None:  # no answer: the transport's reason, which names the URL
        cause = error.summary
        if not isinstance(error, TransientAPIError) and error.hint:
            cause += f". {error.hint}"  # an untrusted certificate: how to trust it
        return cause
    if isinstance(error, InvalidResponseError):  # "the API answered with an HTML page ... instead of JSON"
        return error.summary.replace("the API", base_url, 1)
    cause = f"{base_url} answered HTTP {error.http_status}"
    return f"{cause} ({error.vendor_message})" if error.vendor_message else cause


def without_conn_id(message: str, conn_id: str) -> str:
    """A settings error without the connection id, which in the UI's test is a random temporary one."""
    return message.replace(f"Connection {conn_id!r}", "This connection").replace(
        f"connection {conn_id!r}", "this connection"
    )
