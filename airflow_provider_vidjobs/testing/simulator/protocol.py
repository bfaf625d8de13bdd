"""uvicorn's HTTP protocol class, subclassed to count TCP connections and expose transports.

The transport lets a fault drop a connection mid-response with a real TCP reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from airflow_provider_vidjobs.testing.simulator.stats import ConnKey, ConnTracker


def base_protocol_class() -> type[asyncio.Protocol]:
    """httptools' protocol when installed (fast), else h11's."""
    try:
        import httptools  # noqa: F401
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    except ImportError:  # pragma: no cover - depends on the environment
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol


def counting_protocol_class(tracker: ConnTracker, base: type[asyncio.Protocol] | None = None) -> type[Any]:
    """A protocol class that reports each connection's open and close to ``tracker``."""
    parent: Any = base or base_protocol_class()

    class CountingProtocol(parent):  # type: ignore[misc]
        _vidjobs_key: ConnKey | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            peer = transport.get_extra_info("peername")
            if isinstance(peer, tuple) and len(peer) >= 2:
                self._vidjobs_key = (str(peer[0]), int(peer[1]))
                tracker.opened(self._vidjobs_key, transport)
            else:
                tracker.accepted += 1
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._vidjobs_key is not None:
                tracker.closed(self._vidjobs_key)
            super().connection_lost(exc)

    CountingProtocol.__name__ = f"Counting{parent.__name__}"
    return CountingProtocol


async def abort_connection(transport: asyncio.BaseTransport, *, rst: bool = True, settle_s: float = 0.05) -> None:
    """Drop a connection: after a short pause (so the partial body reaches the peer), either a TCP
    reset (SO_LINGER 0 then abort) or a plain close (FIN)."""
    await asyncio.sleep(settle_s)
    abort = getattr(transport, "abort", None)  # uvloop's transports are not asyncio.Transport subclasses
    if rst and abort is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        abort()
    else:
        transport.close()
    await asyncio.sleep(0)
