"""The six defects of issue 17 in ``LeanAsyncTransport`` and the capped body readers, each on real sockets.

Raw asyncio servers (from ``test_lean_transport``) write exact hostile bytes; the TLS case uses a
stdlib TLS server in a thread that answers ``Connection: close`` and sends close_notify at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_lean_transport import Conn, Server, _certificate, client, ok, run

from airflow_provider_vidjobs.http.transport import LeanAsyncTransport

# ----- 1: a complete HTTPS answer arriving with the server's close_notify ----------------------


def _tls_server_that_answers_and_closes(cert: Path, key: Path, answers: int) -> tuple[int, threading.Thread]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    body = b'{"ok":true}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%b" % (len(body), body)

    def serve() -> None:
        with listener:
            for _ in range(answers):
                raw, _ = listener.accept()
                with context.wrap_socket(raw, server_side=True) as tls:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += tls.recv(4096)
                    tls.sendall(answer)
                    with contextlib.suppress(OSError, ssl.SSLError):
                        tls.unwrap()  # close_notify right behind the answer, as nginx closing does

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_complete_https_answer_followed_by_close_notify_is_returned(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    rounds = 20
    port, thread = _tls_server_that_answers_and_closes(cert, key, rounds)

    async def scenario() -> list[Any]:
        trusted = ssl.create_default_context(cafile=str(cert))
        results: list[Any] = []
        async with httpx.AsyncClient(transport=LeanAsyncTransport(verify=trusted)) as http:
            for _ in range(rounds):
                try:
                    results.append((await http.get(f"https://localhost:{port}/")).json())
                except httpx.HTTPError as error:
                    results.append(repr(error))
        return results

    results = run(scenario())
    thread.join(5)
    assert results == [{"ok": True}] * rounds


# ----- 2: CR, LF, NUL in header values; bad header names ----------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        b"X-Request-Id: req-1\n2026-12-02 [ERROR] FORGED log line",
        b"X-Request-Id: req-1\rFORGED",
        b"X-Request-Id: req-1\0FORGED",
        b"X-Request-Id: req\x01FORGED",
        b"X Request Id: FORGED",
        b"X-Request-Id(: FORGED",
        b"X-A: 1\nContent-Length: 2",  # a bare LF hiding Content-Length inside another header
    ],
    ids=["lf", "cr", "nul", "control", "space-in-name", "paren-in-name", "hidden-length"],
)
def test_header_with_cr_lf_nul_or_a_bad_name_is_refused(header: bytes) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\n" + header + b"\r\nContent-Length: 2\r\n\r\nhi")
        await asyncio.sleep(0.5)
        conn.close()

    async def scenario() -> BaseException | None:
        async with Server(handler) as server, client(server) as http:
            try:
                await http.get("/")
            except httpx.HTTPError as error:
                return error
            return None

    error = run(scenario())
    assert isinstance(error, httpx.RemoteProtocolError)
    text = str(error)
    assert "FORGED" not in text
    assert not any(ch in text for ch in "\r\n\0\x01")
    assert "malformed HTTP answer" in text


# ----- 3: chunk sizes int(x, 16) accepted -------------------------------------------------------


@pytest.mark.parametrize(("size", "data"), [(b"0x5", b"hello"), (b"1_0", b"0123456789abcdef")])
def test_chunk_size_that_is_not_plain_hex_is_refused(size: bytes, data: bytes) -> None:
    """Python's ``int(x, 16)`` reads both as the length of ``data``; RFC 9112 chunk sizes are HEXDIG only."""

    async def handler(conn: Conn) -> None:
        await conn.request()
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        await conn.send(head + size + b"\r\n" + data + b"\r\n0\r\n\r\n")
        await asyncio.sleep(0.5)

    async def scenario() -> BaseException | None:
        async with Server(handler) as server, client(server) as http:
            try:
                response = await http.get("/")
            except httpx.HTTPError as error:
                return error
            return AssertionError(f"accepted: {response.content!r}")

    assert isinstance(run(scenario()), httpx.RemoteProtocolError)


# ----- 4: one GET sent at most twice ------------------------------------------------------------


def test_a_request_is_resent_at_most_once_over_many_dead_idle_connections() -> None:
    """8 idle connections that each read the next request and drop it: the GET reaches the server twice at most."""
    dropped: list[int] = []

    async def handler(conn: Conn) -> None:
        await conn.request()
        await asyncio.sleep(0.3)  # slow first answers: 8 concurrent GETs open 8 connections
        await conn.send(ok())
        if await conn.request() is not None:
            dropped.append(conn.index)  # read, then closed unanswered
        conn.close()

    async def scenario() -> tuple[int, Any]:
        async with Server(handler) as server, client(server) as http:
            await asyncio.gather(*(http.get("/") for _ in range(8)))
            assert server.connections == 8
            opened = server.connections
            try:
                answer: Any = (await http.get("/")).json()
            except httpx.HTTPError as error:
                answer = error
            await asyncio.sleep(0.05)
            return len(dropped) + (server.connections - opened), answer

    sent, answer = run(scenario())
    assert sent <= 2
    assert answer == {"ok": True}


# ----- 5: Content-Length values that escaped as ValueError ---------------------------------------


@pytest.mark.parametrize("length", [b"\xb9", b"1" * 4301], ids=["superscript-one", "4301-digits"])
def test_bad_content_length_is_a_protocol_error_and_asyncio_logs_nothing(
    length: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\nh")
        await asyncio.sleep(0.5)

    async def scenario() -> BaseException | None:
        async with Server(handler) as server, client(server, timeout=2.0) as http:
            try:
                await http.get("/")
            except httpx.HTTPError as error:
                return error
            return None

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        error = run(scenario())
    assert isinstance(error, httpx.RemoteProtocolError)
    assert "Content-Length" in str(error)
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR] == []


# ----- 6: a gzip bomb is capped while it is decoded (peak memory in a child process) ------------

_BOMB_CHILD = textwrap.dedent(
    """
    import asyncio, json, resource, sys, threading, zlib
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    from airflow_provider_vidjobs.exceptions import VideoAPIError
    from airflow_provider_vidjobs.http.transport import LeanAsyncTransport
    from airflow_provider_vidjobs.http.responses import aread_capped as _aread_capped, read_capped as _read_capped

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    bomb = b"".join(packer.compress(block) for _ in range(1024)) + packer.flush()  # 1 GiB of zeros

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(bomb)))
            self.end_headers()
            self.wfile.write(bomb)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/videos/job-1"

    def sync_read():
        with httpx.Client() as http, http.stream("GET", url) as response:
            return _read_capped(response, "TensorPix", "job-1")

    async def async_read():
        async with httpx.AsyncClient(transport=LeanAsyncTransport()) as http:
            response = await http.send(http.build_request("GET", url), stream=True)
            try:
                return await _aread_capped(response, "TensorPix", "job-1")
            finally:
                await response.aclose()

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        sync_read() if sys.argv[1] == "sync" else asyncio.run(async_read())
        outcome = "read"
    except VideoAPIError as error:
        outcome = str(error)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"bomb": len(bomb), "peak_growth_mib": (after - before) / 1024, "outcome": outcome}))
    """
)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_gzip_bomb_is_refused_before_it_is_decoded_whole(path: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD, path], capture_output=True, text=True, timeout=240, check=True
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"gzip bomb ({path}): {figures}")
    assert 900_000 < figures["bomb"] < 1_200_000
    assert "at most 8388608 bytes are read" in figures["outcome"]
    assert figures["peak_growth_mib"] < 48  # 8 MiB of cap plus buffers; 142-267 MiB before the fix
