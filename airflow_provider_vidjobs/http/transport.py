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
from typing import Any

import httpx

from airflow_provider_vidjobs.http.connection import _Connection, _StaleConnection

#: Connections being opened at once per origin (see ``_Pool``).
MAX_CONNECTING = 2
#: Seconds a request waits for a busy connection to come back before it opens a new one (see ``_Pool``).
GROW_AFTER = 0.02
#: Read timeouts are checked this often (so they fire up to this much late).
REAP_EVERY = 0.1
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_DEFAULT_PORT = {b"http": 80, b"https": 443}
OriginKey = tuple[bytes, bytes, int]


@functools.lru_cache(maxsize=2)
def _default_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


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
