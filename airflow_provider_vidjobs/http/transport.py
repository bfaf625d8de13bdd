"""A lean HTTP/1.1 transport under ``httpx.AsyncClient`` for thousands of polls in one event loop.

Why it exists (the measurements are in ``benchmarks/README.md``): httpx's default async transport,
httpcore, re-scans its whole pool on every request and on every response close, and for each
connection asks anyio for the socket (a fresh dict of attributes each time) and polls it with a
system call. That is O(connections) per request, O(connections x waiters) once requests queue, and
costs 1-2 ms of CPU per poll with a 32-connection pool; the poll itself needs about 0.05 ms.

This transport keeps the httpx API (requests, responses, timeouts and exceptions are httpx's own)
and replaces only the connection layer: an ``asyncio.Protocol`` per TCP connection, a LIFO stack of
idle connections per origin (so the fewest connections stay warm and idle ones expire), a FIFO queue
of waiters, O(1) per request. A server's close of an idle keep-alive connection is seen when it
happens (the protocol is always reading), so nothing polls sockets. A request that finds its reused
connection closed before any byte of the answer is sent again once on a new connection if it is
idempotent and its body can be replayed.

Answers are parsed by ``httptools`` (llhttp, node's HTTP parser, in C): it refuses what RFC 9110/9112
say to refuse (CR, LF or NUL in a header, bad header names, ``0x5`` chunk sizes, a non-digit or
overflowing Content-Length, TE with CL), and costs less CPU than the hand parser it replaced and a
fortieth of h11's (benchmarks/README.md, fourth round). What stays ours is the lifecycle: when an
answer is complete, when a connection may be reused, deadlines, the pool.

Scope: plain HTTP/1.1 and HTTPS, Content-Length, chunked and read-until-close bodies, 1xx skipped,
flow control both ways. No proxies (clients with a proxy keep httpcore), no HTTP/2, no upgrades; a
connection that answered a HEAD is not reused (llhttp cannot be told a HEAD answer has no body).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httptools
import httpx

#: Largest response head (status line and headers) accepted.
MAX_HEAD_BYTES = 64 * 1024
#: Body bytes buffered before the connection stops reading (resumes when the reader catches up).
HIGH_WATER = 256 * 1024
#: Answers with a Content-Length up to this are read whole before the response is returned: a job's
#: JSON then comes as one ``httpx.ByteStream`` the caller reads without async iteration.
READ_WHOLE_BELOW = 64 * 1024
#: Connections being opened at once per origin (see ``_Pool``).
MAX_CONNECTING = 2
#: Seconds a request waits for a busy connection to come back before it opens a new one (see ``_Pool``).
GROW_AFTER = 0.02
#: Read timeouts are checked this often (so they fire up to this much late).
REAP_EVERY = 0.1

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_DEFAULT_PORT = {b"http": 80, b"https": 443}

# Body framing of a response.
_LENGTH, _CHUNKED, _UNTIL_CLOSE = 0, 1, 2
# What an exchange is waiting for.
_WANT_HEAD, _WANT_BYTES, _WANT_ALL = 0, 1, 2

OriginKey = tuple[bytes, bytes, int]


@functools.lru_cache(maxsize=2)
def _default_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _StaleConnection(Exception):
    """A reused connection was found closed before any byte of the answer arrived."""


class _SecondAnswer(Exception):
    """Raised from a parser callback to stop at bytes that follow a complete answer."""


class LeanAsyncTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive transport with an O(1) connection pool per origin.

    :param verify: an ``SSLContext`` (preferred: build it once), or True/False.
    :param max_connections: open connections per origin at most; requests beyond wait in FIFO order.
    :param keepalive_expiry: seconds an idle connection is kept for reuse.
    """

    def __init__(
        self, *, verify: ssl.SSLContext | bool = True, max_connections: int = 100, keepalive_expiry: float = 30.0
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else None
        self._verify = bool(verify)
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._pools: dict[OriginKey, _Pool] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"LeanAsyncTransport(max_connections={self._max_connections}, origins={len(self._pools)})"

    @property
    def open_connections(self) -> int:
        """Connections open or being opened, over all origins (for tests and diagnostics)."""
        return sum(pool.total for pool in self._pools.values())

    def _pool(self, url: httpx.URL) -> _Pool:
        scheme = url.raw_scheme
        port = url.port or _DEFAULT_PORT.get(scheme, 0)
        key = (scheme, url.raw_host, port)
        pool = self._pools.get(key)
        if pool is None:
            if scheme not in _DEFAULT_PORT:
                raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
            if not url.raw_host:
                raise httpx.UnsupportedProtocol("Request URL is missing a host.")
            context = None
            if scheme == b"https":
                context = self._ssl or _default_context(self._verify)
            pool = self._pools[key] = _Pool(key, context, self._max_connections, self._keepalive_expiry)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("The transport is closed.")
        pool = self._pool(request.url)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head = _request_head(request)
        stream = request.stream
        body = _replayable_body(request)
        sni = request.extensions.get("sni_hostname")
        # Sent again at most once: the server may have read a request it dropped, so each resend can
        # reach it, and the idle connections older than a stale one are dropped before the resend.
        resend = request.method in _IDEMPOTENT and body is not None
        while True:
            conn = await pool.acquire(timeouts, sni)
            try:
                return await conn.exchange(request, head, body, stream, timeouts)
            except _StaleConnection:
                if not resend:
                    raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from None
                resend = False
                pool.drop_idle_older_than(conn.idle_since)

    async def aclose(self) -> None:
        self._closed = True
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


class _Pool:
    """Connections to one origin: a LIFO stack of idle ones, a count of all, a FIFO of waiters.

    A request that finds every connection busy first waits :data:`GROW_AFTER` for one to come back,
    and only then opens a new one; at most :data:`MAX_CONNECTING` are being opened at once. So the pool
    grows only as fast as it is used: a burst against a fast local API is served by a handful of
    connections, while a slow remote API (each request holding its connection for 100 ms) grows it
    towards the limit.
    """

    __slots__ = (
        "connecting",
        "context",
        "expiry",
        "host",
        "idle",
        "key",
        "limit",
        "port",
        "reading",
        "reaper",
        "total",
        "waiters",
    )

    def __init__(self, key: OriginKey, context: ssl.SSLContext | None, limit: int, expiry: float) -> None:
        self.key = key
        self.host = key[1].decode("ascii")
        self.port = key[2]
        self.context = context
        self.limit = limit
        self.expiry = expiry
        self.idle: list[_Connection] = []
        self.total = 0  # open or being opened
        self.connecting = 0
        self.waiters: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()
        #: Connections waiting for the server under a read timeout, checked by one periodic timer
        #: (a timer per wait would cost a heap entry per request, and most are cancelled).
        self.reading: set[_Connection] = set()
        self.reaper: asyncio.TimerHandle | None = None

    async def acquire(self, timeouts: dict[str, float | None], sni: str | None) -> _Connection:
        loop = asyncio.get_running_loop()
        now = loop.time()
        pool_timeout = timeouts.get("pool")
        deadline = None if pool_timeout is None else now + pool_timeout
        grow_at = now + GROW_AFTER if self.total else now  # the first connection opens at once
        idle = self.idle
        while True:
            while idle:
                conn = idle.pop()
                if conn.reusable and loop.time() - conn.idle_since < self.expiry:
                    conn.reused = True
                    return conn
                self.discard(conn)
            now = loop.time()
            can_open = self.total < self.limit and self.connecting < MAX_CONNECTING
            if can_open and now >= grow_at:
                break
            if deadline is not None and now >= deadline:
                raise httpx.PoolTimeout("Timed out waiting for a connection from the pool.")
            until = deadline
            if can_open:
                until = grow_at if until is None else min(until, grow_at)
            handed = await self._wait(loop, None if until is None else until - now)
            if handed is not None:
                return handed
            # woken without a connection: time to open one, a slot or an opening freed up, or timed out
        self.total += 1
        self.connecting += 1
        try:
            return await self._connect(loop, timeouts.get("connect"), sni)
        except BaseException:
            self.total -= 1
            raise
        finally:
            self.connecting -= 1
            if self.waiters and self.total < self.limit:
                self._wake_for_slot()  # the next waiter may open another connection

    async def _wait(self, loop: asyncio.AbstractEventLoop, limit: float | None) -> _Connection | None:
        """Wait for a connection coming back (returned), a slot freeing up or ``limit`` seconds (None)."""
        fut: asyncio.Future[_Connection | None] = loop.create_future()
        self.waiters.append(fut)
        timer = loop.call_later(limit, _give_up, fut) if limit is not None else None
        try:
            return await fut
        except BaseException:
            if fut.done() and not fut.cancelled():  # woken just as we were cancelled: pass it on
                handed = fut.result()
                if handed is not None:
                    self.release(handed)
                else:
                    self._wake_for_slot()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if fut in self.waiters:  # timed out or cancelled while still queued
                self.waiters.remove(fut)

    async def _connect(self, loop: asyncio.AbstractEventLoop, limit: float | None, sni: str | None) -> _Connection:
        conn = _Connection(self)
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: conn,
                    self.host,
                    self.port,
                    ssl=self.context,
                    server_hostname=(sni or self.host) if self.context is not None else None,
                ),
                limit,
            )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"Timed out connecting to {self.host}:{self.port}.") from None
        except OSError as error:  # includes ssl.SSLError
            raise httpx.ConnectError(str(error) or type(error).__name__) from None
        return conn

    def watch(self, conn: _Connection) -> None:
        """``conn`` waits for the server until ``conn.deadline``."""
        self.reading.add(conn)
        if self.reaper is None:
            self.reaper = conn.loop.call_later(REAP_EVERY, self._reap, conn.loop)

    def _reap(self, loop: asyncio.AbstractEventLoop) -> None:
        self.reaper = None
        now = loop.time()
        for conn in [c for c in self.reading if c.deadline <= now]:
            conn.time_out()
        if self.reading:
            self.reaper = loop.call_later(REAP_EVERY, self._reap, loop)

    def release(self, conn: _Connection) -> None:
        """A connection finished an exchange: hand it to a waiter, keep it idle, or drop it."""
        if not conn.reusable:
            self.discard(conn)
            return
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                conn.reused = True
                fut.set_result(conn)
                return
        loop = conn.loop
        now = loop.time()
        conn.idle_since = now
        idle = self.idle
        idle.append(conn)
        while idle and now - idle[0].idle_since >= self.expiry:  # the bottom of the stack is the oldest
            self.discard(idle.pop(0))

    def drop_idle_older_than(self, since: float) -> None:
        """Close the idle connections idle since ``since`` or before: a stale one says they are likely dead too."""
        for conn in [c for c in self.idle if c.idle_since <= since]:
            self.discard(conn)

    def discard(self, conn: _Connection) -> None:
        """Close a connection and free its slot (idempotent)."""
        if conn.counted:
            conn.counted = False
            self.total -= 1
            if conn in self.idle:
                self.idle.remove(conn)
            conn.close()
            self._wake_for_slot()

    def _wake_for_slot(self) -> None:
        waiters = self.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def close(self) -> None:
        if self.reaper is not None:
            self.reaper.cancel()
            self.reaper = None
        for conn in list(self.idle):
            self.discard(conn)
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_exception(httpx.ConnectError("The transport is closed."))


def _give_up(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_result(None)


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


def _replayable_body(request: httpx.Request) -> bytes | None:
    """The request body as bytes when it is already in memory (so it can be sent again), else None."""
    try:
        return request.content
    except httpx.RequestNotRead:
        return None


def _request_head(request: httpx.Request) -> bytes:
    """``GET /path?q HTTP/1.1`` and the headers, refusing anything that could split the message."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    count = 1
    for name, value in request.headers.raw:
        parts += (name, b": ", value, b"\r\n")
        count += 1
    parts.append(b"\r\n")
    head = b"".join(parts)
    if head.count(b"\n") != count + 1 or head.count(b"\r") != count + 1 or b"\0" in head:
        raise httpx.LocalProtocolError("A request line or header contains a line break or NUL character.")
    return head


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
