"""A short-lived, per-process cache of connection settings read through Airflow's async lookup.

Every trigger reads its connection when it starts. In a triggerer that holds thousands of waits on one
connection, that lookup (secrets backends, a thread hop; in a deployment, a round trip through the
supervisor to the metadata DB) was most of a trigger's start-up CPU, and a triggerer restart started
thousands at once. Now waits starting together share one lookup, and later ones reuse it for
``TTL_S`` seconds: an edited connection reaches new waits within that time, and a key the API rejects
is forgotten at once (:func:`forget`), so a corrected key is read by the next wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from airflow_provider_vidjobs.http.settings import ConnectionSettings

#: Seconds a looked-up connection is reused by later waits in the same process.
TTL_S = 30.0

_Key = tuple[str, str]
_entries: dict[_Key, tuple[float, ConnectionSettings]] = {}
_pending: dict[tuple[str, str, asyncio.AbstractEventLoop], asyncio.Task[ConnectionSettings]] = {}


def get(provider: str, conn_id: str) -> ConnectionSettings | None:
    """The cached settings of ``conn_id`` for ``provider``, or None when absent or older than ``TTL_S``."""
    entry = _entries.get((provider, conn_id))
    if entry is None:
        return None
    if time.monotonic() - entry[0] >= TTL_S:
        _entries.pop((provider, conn_id), None)
        return None
    return entry[1]


async def load(provider: str, conn_id: str, lookup: Callable[[], Awaitable[ConnectionSettings]]) -> ConnectionSettings:
    """The cached settings, or the result of ``lookup()``, run once for every caller waiting meanwhile."""
    cached = get(provider, conn_id)
    if cached is not None:
        return cached
    key = (provider, conn_id, asyncio.get_running_loop())
    task = _pending.get(key)
    if task is None:

        async def fill() -> ConnectionSettings:
            settings = await lookup()
            _entries[(provider, conn_id)] = (time.monotonic(), settings)
            return settings

        task = asyncio.ensure_future(fill())
        _pending[key] = task
        task.add_done_callback(lambda _: _pending.pop(key, None))
    # shield: one caller cancelled (its trigger cleared) does not cancel the lookup the others wait on.
    return await asyncio.shield(task)


def forget(provider: str, conn_id: str) -> None:
    """Drop one connection (its key was rejected: the next lookup reads the connection again)."""
    _entries.pop((provider, conn_id), None)


def clear() -> None:
    """Drop everything (tests that redefine a connection under the same id call this)."""
    _entries.clear()
