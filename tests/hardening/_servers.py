"""Small raw HTTP servers for what the simulator cannot do: bodies that never end, other hosts, black holes.

Each runs in a daemon thread on its own port and records what it saw, so a test can assert on the
server's side of the conversation (bytes actually sent, headers actually received).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Seen:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class RawServer:
    """A threaded TCP server answering each request with ``respond(seen, conn, server)``."""

    respond: Callable[[Seen, socket.socket, RawServer], None]
    host: str = "127.0.0.1"
    requests: list[Seen] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # body bytes the kernel accepted, per response
    sndbuf: int | None = None

    def __post_init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        #: Set each time a response handler returns (the client hung up, or all was sent).
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"raw-server {self.url}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _serve(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        if self.sndbuf:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        with contextlib.closing(conn):
            conn.settimeout(10)
            buf = b""
            while b"\r\n\r\n" not in buf:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
            head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            seen = Seen(method, path, headers)
            self.requests.append(seen)
            try:
                with contextlib.suppress(OSError):
                    self.respond(seen, conn, self)
            finally:
                self.finished.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def reply(conn: socket.socket, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    """A complete HTTP/1.1 response (connection closed after it)."""
    lines = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", "connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def endless_body(
    total: int, *, declare_length: bool, chunk: int = 64 * 1024, pause_s: float = 0.0005
) -> Callable[[Seen, socket.socket, RawServer], None]:
    """A 200 whose JSON-typed body is ``total`` bytes, sent slowly; counts what the client accepted."""

    def respond(seen: Seen, conn: socket.socket, server: RawServer) -> None:
        head = ["HTTP/1.1 200 OK", "content-type: application/json", "connection: close"]
        if declare_length:
            head.append(f"content-length: {total}")
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sent = 0
        block = b'{"id": "' + b"x" * (chunk - 8)
        server.sent.append(0)
        try:
            while sent < total:
                piece = block[: min(chunk, total - sent)]
                conn.sendall(piece)
                sent += len(piece)
                server.sent[-1] = sent
                if pause_s:
                    time.sleep(pause_s)
        except OSError:
            pass  # the client hung up: what it refused to read was never sent

    return respond


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """A URL whose TCP connect never completes: a listening socket with a full accept queue."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(8):  # fill the (tiny) accept queue; later SYNs are dropped, connects hang
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def closed_port() -> str:
    """A URL on which nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def json_bytes(payload: Any) -> bytes:
    import json

    return json.dumps(payload).encode()
