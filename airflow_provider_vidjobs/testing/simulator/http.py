"""Minimal ASGI request/response plumbing for the simulator (no framework on the hot path).

Routing works on ``scope["raw_path"]`` split on ``/`` with each segment percent-decoded afterwards,
so an id holding an encoded slash (``%2F``) stays one segment.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
HeaderList = list[tuple[bytes, bytes]]

JSON_TYPE = b"application/json"
_JSON_HEADER = (b"content-type", JSON_TYPE)
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(payload: Any) -> bytes:
    """Compact JSON bytes (what Django REST framework and most APIs send)."""
    return _encode(payload).encode("utf-8")


class Request:
    """One HTTP request: method, decoded path segments, headers, lazily read body and query."""

    __slots__ = ("_body", "_query", "_receive", "method", "raw_path", "scope", "segments")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self._receive = receive
        self.method: str = scope["method"]
        raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        self.raw_path = raw.decode("latin-1")
        self.segments = [unquote(s) if "%" in s else s for s in self.raw_path.split("/")[1:]]
        self._query: dict[str, str] | None = None
        self._body: bytes | None = None

    def header(self, name: bytes) -> bytes | None:
        """First value of a header (``name`` lower-case), or None."""
        for key, value in self.scope["headers"]:
            if key == name:
                return value  # type: ignore[no-any-return]
        return None

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (last value wins)."""
        if self._query is None:
            qs: bytes = self.scope.get("query_string", b"")
            self._query = dict(parse_qsl(qs.decode("latin-1"), keep_blank_values=True)) if qs else {}
        return self._query

    @property
    def host_url(self) -> str:
        """``scheme://host[:port]`` the client used (for absolute URLs in responses)."""
        host = self.header(b"host")
        if host:
            return f"{self.scope.get('scheme', 'http')}://{host.decode('latin-1')}"
        server = self.scope.get("server") or ("127.0.0.1", 80)
        return f"{self.scope.get('scheme', 'http')}://{server[0]}:{server[1]}"

    async def body(self) -> bytes:
        """The whole request body."""
        if self._body is None:
            chunks: list[bytes] = []
            more = True
            while more:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    break
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            self._body = b"".join(chunks)
        return self._body

    async def disconnected(self) -> None:
        """Return once the client has gone (the rest of an unread body is discarded)."""
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return


class StreamBody:
    """A body of known length produced chunk by chunk (large assets are never held in memory)."""

    __slots__ = ("chunks", "length")

    def __init__(self, length: int, chunks: Callable[[], Iterator[bytes]]) -> None:
        self.length = length
        self.chunks = chunks


class Response:
    """A response before it is sent: JSON ``payload`` stays editable so faults can alter it."""

    __slots__ = ("body", "headers", "payload", "status", "stream")

    def __init__(
        self,
        status: int = 200,
        *,
        payload: Any = None,
        body: bytes | None = None,
        content_type: bytes | None = None,
        headers: HeaderList | None = None,
        stream: StreamBody | None = None,
    ) -> None:
        self.status = status
        self.payload = payload
        self.body = body
        self.stream = stream
        self.headers: HeaderList = headers if headers is not None else []
        if content_type is not None:
            self.headers.append((b"content-type", content_type))
        elif payload is not None:
            self.headers.append(_JSON_HEADER)

    def add_header(self, name: str, value: str) -> None:
        """Append a header (names lower-case on the wire)."""
        self.headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))

    def encoded(self) -> bytes:
        """The body bytes (JSON payload encoded now); empty for streamed bodies."""
        if self.body is None:
            self.body = dumps(self.payload) if self.payload is not None else b""
        return self.body

    @property
    def length(self) -> int:
        """Content-Length of the full body."""
        return self.stream.length if self.stream is not None else len(self.encoded())


def json_response(status: int, payload: Any, headers: HeaderList | None = None) -> Response:
    """A JSON response."""
    return Response(status, payload=payload, headers=headers)


def text_response(status: int, text: str, content_type: bytes, headers: HeaderList | None = None) -> Response:
    """A textual (HTML, XML, plain) response."""
    return Response(status, body=text.encode("utf-8"), content_type=content_type, headers=headers)


async def send_response(send: Send, response: Response, *, head_only: bool = False) -> None:
    """Write a full response, streaming chunked bodies under uvicorn's flow control."""
    headers = [*response.headers, (b"content-length", str(response.length).encode("latin-1"))]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head_only:
        await send({"type": "http.response.body", "body": b""})
        return
    if response.stream is None:
        await send({"type": "http.response.body", "body": response.encoded()})
        return
    for chunk in response.stream.chunks():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def iter_prefix(response: Response, limit: int) -> Iterator[bytes]:
    """The first ``limit`` bytes of a response body, in chunks (for mid-response resets)."""
    if response.stream is None:
        yield response.encoded()[:limit]
        return
    left = limit
    for chunk in response.stream.chunks():
        if left <= 0:
            return
        piece = chunk[:left]
        left -= len(piece)
        yield piece
