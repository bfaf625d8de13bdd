"""A 50 MB answer to a job GET: refused at the 8 MiB cap, without reading (or the server sending) it all.

A raw server streams a 50 MB JSON-typed body slowly, with and without ``Content-Length``, and counts
the bytes the kernel accepted from it. The client must give up at the cap: with a declared length
before reading any of the body, without one after 8 MiB; either way the server has sent far less than
50 MB (it blocks once the client stops reading and the socket buffers fill). The client's own memory
is measured with ``tracemalloc``.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import InvalidResponseError
from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.http import responses

from ._harness import PROVIDERS, contract, files_in
from ._servers import RawServer, endless_body

FIFTY_MB = 50 * 1000 * 1000


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    """Each registered API in turn."""
    return str(request.param)


@pytest.fixture
def job_id(provider: str) -> str:
    return contract(provider).facts.sample_id


@pytest.fixture(params=[False, True], ids=["no-content-length", "content-length-50MB"])
def big_api(request: pytest.FixtureRequest, define_connection: Any, provider: str) -> Iterator[RawServer]:
    server = RawServer(endless_body(FIFTY_MB, declare_length=request.param), sndbuf=64 * 1024)
    server.declared = request.param  # type: ignore[attr-defined]
    define_connection("big", provider, server.url)
    try:
        yield server
    finally:
        server.stop()


def server_sent(server: RawServer) -> int:
    """Bytes of body the server got rid of before the client hung up (waits for its handler to end)."""
    assert server.finished.wait(20), "the server is still sending: the client did not hang up"
    return server.sent[0]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_50_mb_body_is_refused_at_the_cap(
    big_api: RawServer, leak_watch: Any, mode: str, provider: str, job_id: str
) -> None:
    hook = hook_class(provider)("big")

    async def aget() -> Any:
        async with hook.async_session():
            return await hook.aget_job(job_id)

    tracemalloc.start()
    try:
        with pytest.raises(InvalidResponseError) as info:
            hook.get_job(job_id) if mode == "sync" else asyncio.run(aget())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    leak_watch.track("error", info.value)
    text = str(info.value)
    assert f"{provider} job {job_id}" in text
    assert f"at most {responses.MAX_JSON_BYTES} bytes are read" in text
    sent = server_sent(big_api)
    if big_api.declared:  # type: ignore[attr-defined]
        assert f"a response of {FIFTY_MB} bytes" in text
        assert sent < 8 * 1024 * 1024  # nothing was read: only what the socket buffers took
        assert peak < 4 * 1024 * 1024
    else:
        assert "more than the limit" in text
        assert responses.MAX_JSON_BYTES < sent < 24 * 1024 * 1024, sent  # the cap plus socket buffers
        assert peak < 2 * responses.MAX_JSON_BYTES + 2 * 1024 * 1024  # the cap once (plus one join), never 50 MB
    assert len(big_api.requests) == 1  # not retried


@pytest.mark.parametrize("path", ["trigger", "poke", "download"])
def test_a_50_mb_body_through_each_path(
    big_api: RawServer, run: Any, tmp_path: Path, path: str, provider: str, job_id: str
) -> None:
    outcome = run(path, provider, job_id, conn_id="big")
    assert isinstance(outcome.error, InvalidResponseError)
    assert f"{provider} job {job_id}" in outcome.message
    assert f"at most {responses.MAX_JSON_BYTES} bytes are read" in outcome.message
    assert server_sent(big_api) < 24 * 1024 * 1024
    assert files_in(tmp_path) == []
