"""One HTTP/1.1 connection of :class:`~.transport.LeanAsyncTransport`: an ``asyncio.Protocol`` and its parser.

Split from :mod:`.transport` (the pool and the transport) so each stays readable. Over ~400 lines on
purpose: the connection's lifecycle (send, parse with ``httptools``, flow control both ways, deadlines,
reuse) is one state machine, and splitting it would spread one object's invariants over modules.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httptools
import httpx

if TYPE_CHECKING:
    from airflow_provider_vidjobs.http.transport import _Pool

#: Largest response head (status line and headers) accepted.
MAX_HEAD_BYTES = 64 * 1024
#: Body bytes buffered before the connection stops reading (resumes when the reader catches up).
HIGH_WATER = 256 * 1024
#: Answers with a Content-Length up to this are read whole before the response is returned: a job's
#: JSON then comes as one ``httpx.ByteStream`` the caller reads without async iteration.
READ_WHOLE_BELOW = 64 * 1024


# Body framing of a response.
_LENGTH, _CHUNKED, _UNTIL_CLOSE = 0, 1, 2
# What an exchange is waiting for.
_WANT_HEAD, _WANT_BYTES, _WANT_ALL = 0, 1, 2


class _StaleConnection(Exception):
    """A reused connection was found closed before any byte of the answer arrived."""


class _SecondAnswer(Exception):
    """Raised from a parser callback to stop at bytes that follow a complete answer."""


def _time_out(fut: asyncio.Future[Any], error: type[httpx.TimeoutException], message: str) -> None:
    if not fut.done():
        fut.set_exception(error(message))


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection and the parser of the response it is receiving."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.counted = True  # holds one of the pool's slots
        self.reused = False
        self.reusable = False  # True only while idle and healthy
        self.idle_since = 0.0
        self.closed = False
        self._active = False  # an exchange is under way
        self._got_bytes = False  # any byte of the current answer arrived
        self._parser = httptools.HttpResponseParser(self)
        self._head_bytes = 0  # bytes fed while the head was incomplete (llhttp has no limit of its own)
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._interim = False  # parsing a 1xx answer, skipped
        self._head: tuple[int, bytes, list[tuple[bytes, bytes]]] | None = None
        self._framing = _LENGTH
        self._remaining = 0  # the Content-Length, for the read-whole decision
        self._body: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._body_done = False
        self._keep_alive = True
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused_reading = False
        self._paused_writing = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._method = "GET"
        self._want = _WANT_HEAD
        self.deadline = 0.0  # of the current read wait (see _Pool.watch)
        self._timeout: tuple[type[httpx.TimeoutException], str] = (httpx.ReadTimeout, "")

    # ----- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        if not self._active:
            # Bytes nobody asked for (a stray answer, or a 408 before closing): the connection is unusable.
            self.reusable = False
            self.pool.discard(self)
            return
        self._got_bytes = True
        if self._body_done:  # bytes after a complete answer: keep the answer, never reuse the connection
            self._keep_alive = False
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._keep_alive = False  # 101 Switching Protocols: not ours to speak; the answer ends here
            self._body_done = True
            self._wake()
        except httptools.HttpParserError as error:
            if self._body_done:  # the answer was complete; what followed it is the server's problem
                self._keep_alive = False
                return
            self._fail(httpx.RemoteProtocolError(f"The server sent a malformed HTTP answer ({_reason(error)})."))
            self.close()
            return
        if self._head is None:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._fail(httpx.RemoteProtocolError("The response head is too large."))
                self.close()

    def eof_received(self) -> bool | None:
        self._lost(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(exc)
        self.closed = True
        self._wake_drain(exc)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        self._wake_drain(None)

    # ----- the exchange -------------------------------------------------------------------------

    async def exchange(
        self,
        request: httpx.Request,
        head: bytes,
        body: bytes | None,
        stream: Any,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        """Send one request and wait for the answer's head; the body streams from the returned response."""
        self.reusable = False
        if self.closed or self.transport is None or self.transport.is_closing():
            self.pool.discard(self)
            raise _StaleConnection
        self._start(request.method)
        transport = self.transport
        try:
            if body is not None:
                transport.write(head + body if body else head)
            else:
                transport.write(head)
                await self._send_stream(request, stream, timeouts.get("write"))
            read_timeout = timeouts.get("read")
            self._want = _WANT_HEAD
            await self._wait(read_timeout, httpx.ReadTimeout, "Timed out waiting for the response.")
            if not self._body_done and self._framing == _LENGTH and self._remaining <= READ_WHOLE_BELOW:
                self._want = _WANT_ALL
                await self._wait(read_timeout, httpx.ReadTimeout, "Timed out reading the response body.")
        except _StaleConnection:
            self.pool.discard(self)
            raise
        except BaseException:
            self._active = False
            self.pool.discard(self)  # cancelled or failed halfway: the connection's state is unknown
            raise
        assert self._head is not None
        status, reason, headers = self._head
        if self._body_done:
            content = b"".join(self._body) if len(self._body) != 1 else self._body[0]
            self._finish()
            return httpx.Response(
                status,
                headers=headers,
                stream=httpx.ByteStream(content),
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
            )
        return httpx.Response(
            status,
            headers=headers,
            stream=_ResponseStream(self, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def _start(self, method: str) -> None:
        self._active = True
        self._method = method
        self._got_bytes = False
        self._head_bytes = 0
        self._headers = []
        self._interim = False
        self._head = None
        self._body.clear()
        self._buffered = 0
        self._body_done = False
        self._error = None
        self._keep_alive = True

    async def _send_stream(self, request: httpx.Request, stream: Any, limit: float | None) -> None:
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        transport = self.transport
        assert transport is not None
        async for chunk in stream:
            if self.closed:
                raise httpx.WriteError("The connection closed while the request body was being sent.")
            if chunk:
                transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                if self._paused_writing:
                    await self._drain(limit)
        if chunked:
            transport.write(b"0\r\n\r\n")

    async def _drain(self, limit: float | None) -> None:
        fut = self._drain_waiter = self.loop.create_future()
        timer = (
            self.loop.call_later(limit, _time_out, fut, httpx.WriteTimeout, "Timed out sending the request.")
            if limit is not None
            else None
        )
        try:
            await fut
        finally:
            self._drain_waiter = None
            if timer is not None:
                timer.cancel()

    def _wake_drain(self, exc: BaseException | None) -> None:
        fut = self._drain_waiter
        if fut is not None and not fut.done():
            if exc is not None or self.closed:
                fut.set_exception(httpx.WriteError(str(exc) if exc else "The connection closed."))
            else:
                fut.set_result(None)

    async def _wait(self, limit: float | None, error: type[httpx.TimeoutException], message: str) -> None:
        """Wait until the parser makes progress (head complete, body bytes, end, or failure)."""
        if self._error is None and not self._progress_ready():
            fut = self._waiter = self.loop.create_future()
            if limit is not None:
                self.deadline = self.loop.time() + limit
                self._timeout = (error, message)
                self.pool.watch(self)
            try:
                await fut
            finally:
                self._waiter = None
                if limit is not None:
                    self.pool.reading.discard(self)
        if self._error is not None:
            raise self._error

    def time_out(self) -> None:
        """The read wait passed its deadline (called by the pool's reaper)."""
        self.pool.reading.discard(self)
        fut = self._waiter
        if fut is not None and not fut.done():
            error, message = self._timeout
            fut.set_exception(error(message))

    def _progress_ready(self) -> bool:
        want = self._want
        if want == _WANT_HEAD:
            return self._head is not None
        if want == _WANT_BYTES:
            return bool(self._body) or self._body_done
        return self._body_done

    def _wake(self) -> None:
        fut = self._waiter
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        fut = self._waiter
        if fut is not None and not fut.done():
            fut.set_exception(error)

    def _lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.reusable = False
        if not self._active:
            self.pool.discard(self)  # an idle connection the server closed
            return
        if self._body_done:  # the answer was complete when the close came (e.g. with TLS close_notify)
            self._keep_alive = False
            return
        if self._head is not None and self._framing == _UNTIL_CLOSE and exc is None:
            self._body_done = True
            self._keep_alive = False
            self._wake()
            return
        if not self._got_bytes and self.reused:
            self._fail(_StaleConnection())
        elif isinstance(exc, OSError):
            self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
        elif self._head is None:
            self._fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))
        else:
            self._fail(httpx.RemoteProtocolError("peer closed connection without sending complete message body"))

    def _finish(self) -> None:
        """The answer is complete: return the connection to the pool, or drop it."""
        self._active = False
        self.reusable = self._keep_alive and not self.closed
        if self._paused_reading and self.transport is not None and self.reusable:
            self._paused_reading = False
            self.transport.resume_reading()
        self.pool.release(self)

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    # ----- parsing: httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._head is not None:  # a second answer to one request: stop parsing, never reuse
            self._keep_alive = False
            raise _SecondAnswer

    def on_status(self, reason: bytes) -> None:
        self._reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._head is None:  # trailers of a chunked body are dropped, as httpx does
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._interim = True  # 100 Continue, 103 Early Hints: the real answer follows
            self._headers = []
            return
        headers = self._headers
        self._head = (status, self._reason, headers)
        self._keep_alive = parser.should_keep_alive()
        self._framing, self._remaining = _framing(headers)
        if self._method == "HEAD":
            self._keep_alive = False  # llhttp expects the body a GET would have had: read no further
            self._body_done = True
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._body_done = True
        self._wake()

    def on_body(self, data: bytes) -> None:
        if not self._body_done:
            self._push(data)

    def _push(self, data: bytes) -> None:
        if not data:
            return
        self._body.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake()

    # ----- the body, for _ResponseStream --------------------------------------------------------

    async def next_body(self, limit: float | None) -> bytes | None:
        """The next buffered body bytes, or None at the end of the body."""
        while True:
            if self._body:
                data = self._body.popleft()
                self._buffered -= len(data)
                if self._paused_reading and self._buffered <= HIGH_WATER // 4 and self.transport is not None:
                    self._paused_reading = False
                    self.transport.resume_reading()
                return data
            if self._body_done:
                return None
            self._want = _WANT_BYTES
            await self._wait(limit, httpx.ReadTimeout, "Timed out reading the response body.")

    def abandon(self) -> None:
        """The reader stopped before the end (or failed): the connection cannot be reused."""
        self._active = False
        self.reusable = False
        self.pool.discard(self)


class _ResponseStream(httpx.AsyncByteStream):
    """The body of an answer still arriving; the connection returns to the pool at its end."""

    def __init__(self, conn: _Connection, timeout: float | None) -> None:
        self._conn: _Connection | None = conn
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            raise httpx.StreamClosed()
        try:
            while True:
                data = await conn.next_body(self._timeout)
                if data is None:
                    break
                yield data
        except BaseException:
            self._conn = None
            conn.abandon()
            raise
        self._conn = None
        conn._finish()

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.abandon()


def _framing(headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """(framing, Content-Length) of an answer whose head llhttp has accepted (so the length is digits)."""
    for name, value in headers:
        lname = name.lower()
        if lname == b"transfer-encoding":
            return (_CHUNKED if value.lower().rsplit(b",", 1)[-1].strip() == b"chunked" else _UNTIL_CLOSE), 0
        if lname == b"content-length":
            return _LENGTH, int(value)
    return _UNTIL_CLOSE, 0


def _reason(error: httptools.HttpParserError) -> str:
    """llhttp's own words for what it refused (fixed texts: none of the server's bytes)."""
    text = str(error.args[0] if error.args else "") or type(error).__name__
    return text if text.isprintable() and len(text) <= 80 else type(error).__name__
