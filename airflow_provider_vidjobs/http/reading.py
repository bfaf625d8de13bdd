"""Reading one API response: the body under a size cap (also after gzip/deflate), then a Reply or an error.

The sync and async readers share :class:`_Capped`, which decides everything; they differ only in
how they iterate the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from airflow_provider_vidjobs.exceptions import VideoAPIError
from airflow_provider_vidjobs.http import responses
from airflow_provider_vidjobs.http.decoding import CappedDecoder, DecodedTooLarge
from airflow_provider_vidjobs.http.scrub import scrub_document
from airflow_provider_vidjobs.retry import parse_poll_after


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
        if length is not None and length.isascii() and length.isdigit() and int(length) > responses.MAX_JSON_BYTES:
            raise self.too_large(int(length))
        encoding = response.headers.get("content-encoding", "")
        # None when already read (and decoded) by httpx, or a coding httpx decodes itself.
        handled = not response.is_stream_consumed and CappedDecoder.handles(encoding)
        self.decoder = CappedDecoder(encoding, responses.MAX_JSON_BYTES) if handled else None
        self.chunks: list[bytes] = []
        self.size = 0

    def too_large(self, size: int | None) -> VideoAPIError:
        return responses.too_large(size, provider=self.provider, job_id=self.job_id, status=self.response.status_code)

    def add(self, chunk: bytes) -> None:
        chunk = self.decoder.decode(chunk) if self.decoder is not None else chunk
        self.size += len(chunk)
        if self.size > responses.MAX_JSON_BYTES:
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
        if len(body) > responses.MAX_JSON_BYTES:
            raise responses.too_large(len(body), provider=provider, job_id=job_id, status=response.status_code)
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
    """A 2xx as a :class:`Reply` (JSON decoded, key scrubbed), anything else raised as this provider's error."""
    status = response.status_code
    if 200 <= status < 300:
        payload = responses.parse_json(
            body, response.headers, provider=provider, job_id=job_id, status=status, secret=secret
        )
        return Reply(scrub_document(payload, secret, raw=body), status, response.headers)
    raise responses.error_for_status(
        status, response.headers, body, provider=provider, job_id=job_id, conn_id=conn_id, secret=secret
    )
