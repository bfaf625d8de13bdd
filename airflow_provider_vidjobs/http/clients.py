"""HTTP clients for the hooks: building them, signing their requests, and retrying them.

What a request goes through before the transport, in one place: the shared client it is sent on,
the key put on it (:class:`ApiKeyAuth`, API paths only) and the retry loop around it (:class:`Retrying`).

One cached TLS context, and one shared ``AsyncClient`` per loop and connection:

Creating an ``httpx.AsyncClient`` with a fresh TLS context blocks for 40-70 ms (loading CA
certificates); in a triggerer that stalls every other trigger. So TLS contexts are built once per
process (off the event loop), and async clients are leased from :class:`AsyncClientPool`: every
trigger polling through the same connection in the same event loop shares one client (and its
keep-alive connections). A client closes when its last lease ends, or after a short linger when it
was used for one-off calls.

The shared clients are ``httpx.AsyncClient``s over :class:`~.transport.LeanAsyncTransport`, not
httpcore: httpcore's pool costs O(connections) per request, which at thousands of polls a second
was most of a triggerer's CPU (measurements in benchmarks/README.md). An API behind a proxy (the
connection's ``proxy`` extra, else ``HTTP(S)_PROXY``/``ALL_PROXY`` unless ``NO_PROXY`` names it, see
:mod:`.proxies`) goes through httpcore, which speaks to proxies (CONNECT for HTTPS).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from airflow_provider_vidjobs import __version__
from airflow_provider_vidjobs.exceptions import RateLimitedError, TransientAPIError, VideoAPIError
from airflow_provider_vidjobs.http import proxies, responses
from airflow_provider_vidjobs.http.settings import ConnectionSettings
from airflow_provider_vidjobs.http.transport import LeanAsyncTransport

if TYPE_CHECKING:
    from airflow_provider_vidjobs.retry import RetryPolicy

USER_AGENT = f"airflow-provider-vidjobs/{__version__}"
#: The codings asked for: the ones the capped readers decode under their size cap (http/decoding.py).
ACCEPT_ENCODING = "gzip, deflate"

#: Connections per client at most. The pool opens them only as fast as requests need them (a fast
#: local API uses a few); sized for remote ones: 1,000 polls a second at 100 ms each keep 100 busy.
POOL_SIZE = 100
#: Requests in flight per client at once; kept below the pool size so httpcore (used with a proxy)
#: never queues for a connection (its pool degrades badly with thousands of waiters).
MAX_IN_FLIGHT = 96
#: Seconds an idle keep-alive connection is kept for reuse.
KEEPALIVE_SECONDS = 30.0
#: Seconds an unleased client stays open for the next one-off call before it is closed.
LINGER_SECONDS = 30.0


@functools.lru_cache(maxsize=16)
def tls_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    """The TLS context for a verify/CA setting, built once per process (it is the slow part of a client)."""
    if not verify:
        return False
    if ca_bundle:
        try:
            return ssl.create_default_context(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(f"Cannot load the CA bundle {ca_bundle!r} named in the connection: {error}") from None
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _timeout(settings: ConnectionSettings) -> httpx.Timeout:
    return httpx.Timeout(settings.timeout, connect=settings.connect_timeout)


def _mounts(settings: ConnectionSettings) -> proxies.Mounts:
    return proxies.mounts_for(settings.proxy.reveal() if settings.proxy else None)


def _sync_mounts(settings: ConnectionSettings, verify: ssl.SSLContext | bool) -> dict[str, httpx.BaseTransport | None]:
    """httpx mounts routing each URL to its proxy (None: the client's own, direct transport)."""
    return {
        pattern: None if proxy is None else httpx.HTTPTransport(proxy=proxy, verify=verify)
        for pattern, proxy in _mounts(settings).items()
    }


def build_sync_client(settings: ConnectionSettings) -> httpx.Client:
    """A blocking client for one connection (used from tasks, where blocking is fine)."""
    verify = tls_context(settings.verify, settings.ca_bundle)
    return httpx.Client(
        base_url=settings.base_url,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=_timeout(settings),
        verify=verify,
        mounts=_sync_mounts(settings, verify),
        follow_redirects=False,
        trust_env=False,
    )


def build_storage_client(settings: ConnectionSettings) -> httpx.Client:
    """A client for pre-signed storage URLs: same TLS and proxy settings, and no key, ever.

    Routed per URL (storage hosts and their redirects differ from the API's, and ``NO_PROXY`` may name them).
    """
    verify = tls_context(settings.verify, settings.ca_bundle)
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        timeout=_timeout(settings),
        verify=verify,
        mounts=_sync_mounts(settings, verify),
        follow_redirects=True,
        trust_env=False,
    )


def build_async_transport(settings: ConnectionSettings, verify: ssl.SSLContext | bool) -> httpx.AsyncBaseTransport:
    """The transport of a connection's shared client: the lean one, or httpcore through the API's proxy.

    The client only ever calls the API's base URL, so its proxy is decided once, here. Tests and
    benchmarks swap this function to answer in-process (it is the seam, not a private httpx attribute).
    """
    proxy = proxies.proxy_for(settings.base_url, _mounts(settings))
    if proxy is None:
        return LeanAsyncTransport(verify=verify, max_connections=POOL_SIZE, keepalive_expiry=KEEPALIVE_SECONDS)
    return httpx.AsyncHTTPTransport(proxy=proxy, verify=verify, limits=_limits())


def _limits() -> httpx.Limits:
    return httpx.Limits(
        max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE, keepalive_expiry=KEEPALIVE_SECONDS
    )


def build_async_client(
    settings: ConnectionSettings,
    verify: ssl.SSLContext | bool,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An async client for one connection over ``transport`` (default :func:`build_async_transport`)."""
    return httpx.AsyncClient(
        transport=transport if transport is not None else build_async_transport(settings, verify),
        base_url=settings.base_url,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=_timeout(settings),
        verify=verify,
        follow_redirects=False,
        trust_env=False,
        limits=_limits(),
    )


@dataclass(eq=False)
class SharedClient:
    """A pooled client, the transport it was built over, and the bound on requests in flight through it."""

    client: httpx.AsyncClient
    in_flight: asyncio.Semaphore
    leases: int = 0
    closer: asyncio.TimerHandle | None = None
    #: The client's transport, kept by whoever built the client (no private httpx attribute is read);
    #: None sends through ``AsyncClient.send``.
    transport: httpx.AsyncBaseTransport | None = None

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` as built; the response's body is left to stream (``stream=True``).

        Straight to the client's transport: ``AsyncClient.send`` adds auth flows, redirects, cookie
        persistence and event hooks, none of which these API calls use, for about 40 us a request,
        a quarter of a poll's CPU (benchmarks/README.md).
        """
        transport = self.transport
        if transport is None:
            return await self.client.send(request, stream=True)
        response = await transport.handle_async_request(request)
        response.request = request
        return response


def build_shared_client(settings: ConnectionSettings, verify: ssl.SSLContext | bool) -> SharedClient:
    """A connection's shared client, owning its transport explicitly (so :meth:`SharedClient.send` can skip
    ``AsyncClient.send`` without reaching into the client)."""
    transport = build_async_transport(settings, verify)
    client = build_async_client(settings, verify, transport)
    return SharedClient(client, asyncio.Semaphore(MAX_IN_FLIGHT), transport=transport)


class AsyncClientPool:
    """One :class:`SharedClient` per (event loop, connection fingerprint), reference-counted."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedClient]] = (
            weakref.WeakKeyDictionary()
        )
        # TLS contexts being built (or built) per loop: the leases of triggers arriving together
        # wait for one build instead of each loading the CA certificates in a thread of their own.
        self._tls: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[bool, str | None], asyncio.Future[ssl.SSLContext | bool]]
        ] = weakref.WeakKeyDictionary()

    def open_clients(self) -> int:
        """How many clients are open in the running loop (for tests and diagnostics)."""
        return len(self._by_loop.get(asyncio.get_running_loop(), {}))

    @asynccontextmanager
    async def lease(self, settings: ConnectionSettings, *, linger: bool = False) -> AsyncIterator[SharedClient]:
        """Borrow the shared client for ``settings``; with ``linger`` it stays open a while after the last use."""
        loop = asyncio.get_running_loop()
        clients = self._by_loop.setdefault(loop, {})
        key = settings.fingerprint()
        shared = clients.get(key)
        if shared is None:
            verify = await self._tls_context(loop, settings)
            shared = clients.get(key)  # another lease may have created it while we waited
            if shared is None:
                shared = build_shared_client(settings, verify)
                clients[key] = shared
        if shared.closer is not None:
            shared.closer.cancel()
            shared.closer = None
        shared.leases += 1
        try:
            yield shared
        finally:
            shared.leases -= 1
            if shared.leases == 0:
                if linger:
                    shared.closer = loop.call_later(LINGER_SECONDS, self._close_later, loop, key, shared)
                else:
                    await self._close(clients, key, shared)

    async def _tls_context(
        self, loop: asyncio.AbstractEventLoop, settings: ConnectionSettings
    ) -> ssl.SSLContext | bool:
        """:func:`tls_context` built in a thread (loading CA certificates would block every other
        trigger on this loop), once for all the leases that ask at the same time."""
        building = self._tls.setdefault(loop, {})
        args = (settings.verify, settings.ca_bundle)
        future = building.get(args)
        if future is None:
            future = building[args] = asyncio.ensure_future(asyncio.to_thread(tls_context, *args))

            def forget_failure(done: asyncio.Future[ssl.SSLContext | bool]) -> None:
                if done.cancelled() or done.exception() is not None:
                    building.pop(args, None)  # the next lease tries again (a CA bundle may be fixed)

            future.add_done_callback(forget_failure)
        return await asyncio.shield(future)

    def _close_later(self, loop: asyncio.AbstractEventLoop, key: str, shared: SharedClient) -> None:
        clients = self._by_loop.get(loop, {})
        if shared.leases == 0 and clients.get(key) is shared:
            loop.create_task(self._close(clients, key, shared))

    @staticmethod
    async def _close(clients: dict[str, SharedClient], key: str, shared: SharedClient) -> None:
        if clients.get(key) is shared:
            del clients[key]
        await asyncio.shield(shared.client.aclose())


#: The process-wide pool every hook leases from.
CLIENT_POOL = AsyncClientPool()


# --- The API key on requests: only the API's own paths get it, never storage URLs or other hosts ------


class ApiKeyAuth(httpx.Auth):
    """Adds the key to requests for the API's own paths only, never to storage or other hosts."""

    def __init__(self, scheme: str, key: str, base_url: str, api_prefix: str) -> None:
        #: The key itself, which replies are scrubbed of (never in ``repr``).
        self.key = key
        self._header = f"{scheme} {key}"
        # Compare as httpx sees URLs: host lower-cased, default port dropped, IDN encoded.
        base = httpx.URL(base_url)
        self._origin = (base.scheme, base.netloc)
        self._prefix = base.raw_path.decode("ascii").rstrip("/") + api_prefix
        self._templates_of: httpx.AsyncClient | None = None
        self._templates: dict[tuple[str, str], httpx.Request] = {}

    def __repr__(self) -> str:
        return f"ApiKeyAuth(prefix={self._prefix!r})"

    def applies_to(self, url: httpx.URL) -> bool:
        """True for the API's own URLs: same origin, path under the API prefix."""
        return (url.scheme, url.netloc) == self._origin and url.raw_path.decode("ascii").startswith(self._prefix)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.applies_to(request.url):
            request.headers["Authorization"] = self._header
        yield request

    def build_request(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Request:
        """``client.build_request(method, path, **kwargs)`` with the key added where it belongs.

        Without ``kwargs`` (every poll) the same request object is returned each time for a path: it
        is sent as built and never changed, and building one parses and merges URLs and headers
        (~50 us, a sixth of a poll), while a wait sends the same request every few seconds.
        """
        if kwargs:
            return self._signed(client.build_request(method, path, **kwargs))
        if self._templates_of is not client:
            self._templates_of, self._templates = client, {}
        request = self._templates.get((method, path))
        if request is None:
            request = self._templates[(method, path)] = self._signed(client.build_request(method, path))
        return request

    def _signed(self, request: httpx.Request) -> httpx.Request:
        if self.applies_to(request.url):
            request.headers["Authorization"] = self._header
        return request


# --- The one retry loop of API calls, sync and async ----------------------------------------------------
# Used as ``for attempt in Retrying(...): with attempt: return send()`` then ``attempt.raise_final()`` and a
# sleep of ``attempt.delay`` (``time.sleep`` or ``asyncio.sleep``): the iteration, the decision and the log
# line live here once.


class _Log(Protocol):
    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...


class Retrying:
    """The attempts of one request under a :class:`RetryPolicy`; each is also the context that judges it.

    A non-idempotent request (creating a job) is retried only when the server cannot have acted on
    it: a 429, or a connection that was never made. A 5xx or timeout might have created a job
    already, and a second one would be paid for twice.
    """

    __slots__ = ("_final", "attempt", "base_url", "delay", "idempotent", "job_id", "log", "policy", "provider")

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        provider: str,
        job_id: str | None,
        base_url: str,
        log: _Log,
        idempotent: bool = True,
    ) -> None:
        self.policy, self.provider, self.job_id, self.base_url = policy, provider, job_id, base_url
        self.log, self.idempotent = log, idempotent
        self.attempt, self.delay = 0, 0.0
        #: A transport failure that ends the request, raised by the loop once the ``with`` block is left.
        self._final: VideoAPIError | None = None

    def __iter__(self) -> Iterator[Retrying]:
        for attempt in range(1, self.policy.max_attempts + 1):
            self.attempt = attempt
            yield self
            self.raise_final()  # a caller that skipped it

    def raise_final(self) -> None:
        """Raise the error that ended the request, here, where no exception is being handled.

        Raised from :meth:`__exit__`, it would carry the httpx error as its ``__context__`` (hidden from
        tracebacks, but there for error trackers and callbacks that walk the chain), and with it the
        request, its ``Authorization`` header included.
        """
        final, self._final = self._final, None
        if final is not None:
            raise final

    def __enter__(self) -> Retrying:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> bool:
        """Swallow a failure worth another try (setting :attr:`delay`); raise what ends the request."""
        if isinstance(error, httpx.HTTPError):
            failure: VideoAPIError = responses.error_for_transport(
                error, provider=self.provider, job_id=self.job_id, base_url=self.base_url
            )
            # An untrusted certificate (another try fails the same way), or a create that may have reached
            # the server: the request ends. Not raised here, so the httpx error is not its context.
            final = not isinstance(failure, TransientAPIError) or (
                not self.idempotent and not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
            )
            if final or self.attempt == self.policy.max_attempts:
                self._final, self.delay = failure, 0.0
                return True
        elif isinstance(error, TransientAPIError):
            if not self.idempotent and not isinstance(error, RateLimitedError):
                return False
            failure = error
        else:
            return False  # success (None) or an error no retry can help
        if self.attempt == self.policy.max_attempts:
            return False  # the API's own error, raised as is
        hint = failure.retry_after if isinstance(failure, TransientAPIError) else None
        self.log.info("%s; retrying (attempt %d of %d)", failure.summary, self.attempt + 1, self.policy.max_attempts)
        self.delay = self.policy.delay(self.attempt, hint)
        return True
