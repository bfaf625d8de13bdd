"""Proxies from the environment (``HTTP(S)_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and the ``proxy`` extra.

A small logging proxy on loopback (real sockets, a thread per connection) forwards plain requests
and tunnels CONNECT, and records each request line that reached it.
"""

from __future__ import annotations

import asyncio
import json
import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_lean_transport import _certificate

from airflow_provider_vidjobs.exceptions import APIUnavailableError, VideoAPIError
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.http import clients
from airflow_provider_vidjobs.http.settings import ConnectionSettings, settings_from_connection

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
#: The key of these tests' connections (``from conftest import`` is ambiguous across test folders).
KEY = "proxy-test-key-5c1d9e7a3b24f608"


@pytest.fixture(autouse=True)
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable of the machine running the tests leaks in."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class LoggingProxy:
    """An HTTP forward proxy that records every request line (``GET http://...`` or ``CONNECT host:port``)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handle(self, client: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = client.recv(65536)
            if not piece:
                return
            data += piece
        head, _, rest = data.partition(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        self.lines.append(line)
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            parts = urlsplit(target)
            upstream = socket.create_connection((parts.hostname or "", parts.port or 80))
            upstream.sendall(head + b"\r\n\r\n" + rest)  # absolute-form: the test servers accept it
        _pipe(client, upstream)

    def __enter__(self) -> LoggingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    with selectors.DefaultSelector() as selector, b:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in selector.select(timeout=10):
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if not data:
                    return
                key.data.sendall(data)


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        target = urlsplit(self.path)  # absolute-form when forwarded by the proxy
        path = target.path + (f"?{target.query}" if target.query else "")
        body = json.dumps({"path": path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    """A plain HTTP server on loopback; yields its port (reach it as 127.0.0.1 or localhost)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy() -> Iterator[LoggingProxy]:
    with LoggingProxy() as running:
        yield running


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(base_url: str, **extra: Any) -> ConnectionSettings:
    return settings_from_connection(
        conn_id="proxied",
        provider="TensorPix",
        default_base_url="https://api.example.invalid",
        host=base_url,
        schema=None,
        port=None,
        password=KEY,
        extra=extra,
    )


def _through_every_client(settings: ConnectionSettings, storage_url: str) -> list[str]:
    """GET through the sync API client, the storage client and the async API client; their paths back."""
    with clients.build_sync_client(settings) as http:
        paths = [http.get("/api").json()["path"]]
    with clients.build_storage_client(settings) as http:
        paths.append(http.get(storage_url).json()["path"])

    async def async_path() -> str:
        verify = clients.tls_context(settings.verify, settings.ca_bundle)
        async with clients.build_async_client(settings, verify) as http:
            shared = clients.SharedClient(http, asyncio.Semaphore(1))
            response = await shared.send(http.build_request("GET", "/async"))
            await response.aread()
            return str(response.json()["path"])

    paths.append(asyncio.run(async_path()))
    return paths


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_environment_proxy_carries_the_api_and_storage_clients_sync_and_async(
    variable: str, upstream: int, proxy: LoggingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    origin = f"http://127.0.0.1:{upstream}"

    paths = _through_every_client(_settings(origin), f"{origin}/storage/video.mp4?X-Amz-Signature=abc")

    assert paths == ["/api", "/storage/video.mp4?X-Amz-Signature=abc", "/async"]
    assert sorted(proxy.lines) == sorted(
        [
            f"GET {origin}/api HTTP/1.1",
            f"GET {origin}/storage/video.mp4?X-Amz-Signature=abc HTTP/1.1",
            f"GET {origin}/async HTTP/1.1",
        ]
    )


def test_no_proxy_sends_the_hosts_it_names_direct(
    upstream: int, proxy: LoggingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("no_proxy", "example.invalid, localhost")
    direct, proxied = f"http://localhost:{upstream}", f"http://127.0.0.1:{upstream}"

    paths = _through_every_client(_settings(direct), f"{direct}/storage/direct")
    with clients.build_storage_client(_settings(direct)) as http:
        paths.append(http.get(f"{proxied}/storage/proxied").json()["path"])

    assert paths == ["/api", "/storage/direct", "/async", "/storage/proxied"]
    assert proxy.lines == [f"GET {proxied}/storage/proxied HTTP/1.1"]  # localhost went direct, on every client


def test_proxy_extra_wins_over_the_environment_and_none_ignores_it(
    upstream: int, proxy: LoggingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{_dead_port()}"
    monkeypatch.setenv("HTTP_PROXY", dead)
    monkeypatch.setenv("HTTPS_PROXY", dead)
    origin = f"http://127.0.0.1:{upstream}"

    via_extra = _through_every_client(_settings(origin, proxy=proxy.url), f"{origin}/storage")
    lines_via_extra = list(proxy.lines)
    direct = _through_every_client(_settings(origin, proxy="none"), f"{origin}/storage")

    assert via_extra == direct == ["/api", "/storage", "/async"]
    assert len(lines_via_extra) == 3
    assert proxy.lines == lines_via_extra  # "none": nothing more reached any proxy


def test_https_goes_through_a_connect_tunnel_on_the_async_path(
    tmp_path: Path, proxy: LoggingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    try:
        settings = _settings(f"https://localhost:{port}", ca_bundle=str(cert))
        paths = _through_every_client(settings, f"https://localhost:{port}/storage")
    finally:
        server.shutdown()
        server.server_close()

    assert paths == ["/api", "/storage", "/async"]
    assert proxy.lines == [f"CONNECT localhost:{port} HTTP/1.1"] * 3  # the proxy saw the host, nothing else


def test_hook_calls_go_through_the_environment_proxy_with_the_key_in_no_url(
    vidjobs_simulator: Any, proxy: LoggingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in vidjobs_simulator.airflow_connections().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("http_proxy", proxy.url)
    job = vidjobs_simulator.control.create_job("tensorpix", prompt="A lighthouse", sim={"queued_s": 0})
    hook = TensorPixHook()

    sync_job = hook.get_job(job["id"])
    async_job = asyncio.run(TensorPixHook().aget_job(job["id"]))

    assert sync_job.job_id == async_job.job_id == str(job["id"])
    assert len(proxy.lines) == 2
    assert all(line.startswith(f"GET {vidjobs_simulator.url}/") for line in proxy.lines)
    assert not any(vidjobs_simulator.tensorpix_key in line for line in proxy.lines)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_a_proxy_password_from_the_environment_never_shows_in_errors(
    path: str, upstream: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"conn_type": "tensorpix", "host": f"http://127.0.0.1:{upstream}", "password": KEY}
    monkeypatch.setenv("AIRFLOW_CONN_TENSORPIX_DEFAULT", json.dumps({**connection, "extra": {"max_attempts": 1}}))
    monkeypatch.setenv("HTTP_PROXY", f"http://proxyuser:pr0xy-s3cret@127.0.0.1:{_dead_port()}")
    hook = TensorPixHook()

    job_id = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    with pytest.raises(VideoAPIError) as caught:
        hook.get_job(job_id) if path == "sync" else asyncio.run(hook.aget_job(job_id))

    assert isinstance(caught.value, APIUnavailableError)  # it went to the dead proxy, not straight to the API
    shown = f"{caught.value} {caught.value!r} {caught.value.__cause__!r} {caught.value.__context__!r}"
    assert "pr0xy-s3cret" not in shown
    assert KEY not in shown


def test_a_bad_proxy_extra_is_refused_clearly_without_its_password() -> None:
    with pytest.raises(ValueError, match="Connection extra 'proxy'") as caught:
        _settings("https://api.example.invalid", proxy="ftp://proxyuser:pr0xy-s3cret@proxy.example.invalid")

    assert "pr0xy-s3cret" not in str(caught.value)
    assert "'none'" in str(caught.value)


def test_a_bad_proxy_in_the_environment_is_refused_clearly_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("https_proxy", "ftp://proxyuser:pr0xy-s3cret@proxy.example.invalid")

    with pytest.raises(ValueError, match=r"HTTPS_PROXY or https_proxy") as caught:
        clients.build_sync_client(_settings("https://api.example.invalid"))

    assert "pr0xy-s3cret" not in str(caught.value)
    assert "'none'" in str(caught.value)
