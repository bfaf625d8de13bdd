"""``LeanAsyncTransport``, the connection layer under the hooks' shared async clients.

Every test talks to a raw asyncio server that writes exact bytes, so framing, keep-alive, stale
connections, timeouts and broken answers are all under the test's control.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_vidjobs.http.transport import LeanAsyncTransport

Handler = Callable[["Conn"], Awaitable[None]]


class Conn:
    """One accepted connection, as the handler sees it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int) -> None:
        self.reader, self.writer, self.index = reader, writer, index

    async def request(self) -> tuple[bytes, dict[bytes, bytes], bytes] | None:
        """(request line, headers, body) or None when the client closed."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head[:-4].split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if b"content-length" in headers:
            body = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += data[:-2]
        return lines[0], headers, body

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.url = ""

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = Conn(reader, writer, self.connections)
        try:
            await self.handler(conn)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # the test's loop is closing; end quietly
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


def ok(body: bytes = b'{"ok":true}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%b\r\n%b" % (
        len(body),
        extra,
        body,
    )


async def serve_forever(conn: Conn, reply: Callable[[bytes, dict[bytes, bytes], bytes], bytes] | None = None) -> None:
    while (req := await conn.request()) is not None:
        await conn.send(reply(*req) if reply else ok())


def client(server: Server, timeout: float = 5.0, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, transport=LeanAsyncTransport(**kwargs), timeout=timeout)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


# ----- framing -----------------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection() -> None:
    async def scenario() -> tuple[list[Any], int, int]:
        async with Server(serve_forever) as server, client(server) as http:
            answers = [(await http.get("/a")).json() for _ in range(5)]
            assert isinstance(http._transport, LeanAsyncTransport)
            return answers, server.connections, http._transport.open_connections

    answers, connections, open_now = run(scenario())
    assert answers == [{"ok": True}] * 5
    assert connections == 1
    assert open_now == 1


def test_chunked_body_split_at_every_awkward_boundary() -> None:
    payload = b"hello chunked world, " * 50
    chunks = [payload[i : i + 97] for i in range(0, len(payload), 97)]
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for chunk in chunks:
        wire += b"%x;ext=1\r\n%b\r\n" % (len(chunk), chunk)
    wire += b"0\r\nX-Trailer: yes\r\n\r\n"

    async def handler(conn: Conn) -> None:
        while await conn.request() is not None:
            for i in range(0, len(wire), 7):  # 7-byte writes: sizes, CRLFs and data all straddle reads
                conn.writer.write(wire[i : i + 7])
                await conn.writer.drain()
                await asyncio.sleep(0)

    async def scenario() -> tuple[bytes, bytes, int]:
        async with Server(handler) as server, client(server) as http:
            first = (await http.get("/")).content
            second = (await http.get("/")).content
            return first, second, server.connections

    first, second, connections = run(scenario())
    assert first == second == payload
    assert connections == 1  # the chunked answer ended cleanly, so the connection was reused


def test_small_body_arriving_after_its_head_is_read_whole() -> None:
    """A JSON answer whose head and body come in separate packets is one in-memory stream."""

    async def handler(conn: Conn) -> None:
        while await conn.request() is not None:
            await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n")
            await asyncio.sleep(0.05)
            await conn.send(b'{"ok":true}')

    async def scenario() -> tuple[bool, bytes, int]:
        async with Server(handler) as server:
            transport = LeanAsyncTransport()
            request = httpx.Request("GET", server.url + "/", extensions={"timeout": httpx.Timeout(5.0).as_dict()})
            response = await transport.handle_async_request(request)
            in_memory = isinstance(response.stream, httpx.ByteStream)
            body = await response.aread()
            again = await transport.handle_async_request(request)
            await again.aread()
            await transport.aclose()
            return in_memory, body, server.connections

    in_memory, body, connections = run(scenario())
    assert in_memory
    assert body == b'{"ok":true}'
    assert connections == 1


def test_body_until_close_is_read_whole_and_the_connection_not_reused() -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nno length, ends at close")
        conn.close()

    async def scenario() -> tuple[str, str, int]:
        async with Server(handler) as server, client(server) as http:
            return (await http.get("/")).text, (await http.get("/")).text, server.connections

    first, second, connections = run(scenario())
    assert first == second == "no length, ends at close"
    assert connections == 2


def test_connection_close_header_opens_a_new_connection_next_time() -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(ok(extra=b"Connection: close\r\n"))

    async def scenario() -> int:
        async with Server(handler) as server, client(server) as http:
            for _ in range(3):
                assert (await http.get("/")).json() == {"ok": True}
            return server.connections

    assert run(scenario()) == 3


def test_interim_100_continue_is_skipped_and_head_and_204_have_no_body() -> None:
    async def handler(conn: Conn) -> None:
        while (req := await conn.request()) is not None:
            line = req[0]
            if line.startswith(b"HEAD"):
                await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            elif b"/empty" in line:
                await conn.send(b"HTTP/1.1 204 No Content\r\n\r\n")
            else:
                await conn.send(b"HTTP/1.1 100 Continue\r\n\r\n" + ok())

    async def scenario() -> tuple[Any, ...]:
        async with Server(handler) as server, client(server) as http:
            continued = await http.get("/")
            head = await http.head("/")
            empty = await http.get("/empty")
            again = await http.get("/")
            return continued.json(), head.content, empty.status_code, empty.content, again.json(), server.connections

    continued, head_body, status, empty_body, again, connections = run(scenario())
    assert continued == again == {"ok": True}
    assert head_body == b""
    assert (status, empty_body) == (204, b"")
    assert connections == 2  # the one that answered the HEAD is not reused (llhttp cannot skip its body)


def test_large_body_streams_in_pieces_with_flow_control() -> None:
    size = 8 * 1024 * 1024
    block = bytes(range(256)) * 4096  # 1 MiB

    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // len(block)):
            await conn.send(block)

    async def scenario() -> tuple[int, int, str]:
        async with Server(handler) as server, client(server) as http:
            total, pieces, digest = 0, 0, hashlib.sha256()
            async with http.stream("GET", "/big") as response:
                async for piece in response.aiter_raw():
                    digest.update(piece)
                    total += len(piece)
                    pieces += 1
                    await asyncio.sleep(0)  # a slow reader: the connection must pause, not buffer it all
            return total, pieces, digest.hexdigest()

    total, pieces, digest = run(scenario())
    assert total == size
    assert pieces > 8
    assert digest == hashlib.sha256(block * (size // len(block))).hexdigest()


def test_request_bodies_bytes_and_streamed() -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def handler(conn: Conn) -> None:
        while (req := await conn.request()) is not None:
            seen.append((req[0].split(b" ")[0], req[2]))
            await conn.send(ok())

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part

    async def scenario() -> None:
        async with Server(handler) as server, client(server) as http:
            await http.post("/bytes", content=b"payload")
            await http.post("/json", json={"a": 1})
            await http.post("/stream", content=parts())

    run(scenario())
    assert seen == [(b"POST", b"payload"), (b"POST", b'{"a":1}'), (b"POST", b"one,two,three")]


# ----- stale connections and failures ------------------------------------------------------------


def test_idle_connection_closed_by_the_server_is_replaced() -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(ok())
        conn.close()  # keep-alive timeout on the server side

    async def scenario() -> int:
        async with Server(handler) as server, client(server) as http:
            for _ in range(3):
                assert (await http.get("/")).json() == {"ok": True}
                await asyncio.sleep(0.05)
            return server.connections

    assert run(scenario()) == 3


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("POST", False)])
def test_reused_connection_dropped_before_answering_is_retried_only_if_idempotent(method: str, retried: bool) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(ok())
        if conn.index == 1:
            await conn.request()  # the second request on this connection: drop it unanswered
            conn.close()
            return
        await serve_forever(conn)

    async def scenario() -> Any:
        async with Server(handler) as server, client(server) as http:
            await http.get("/")
            try:
                return (await http.request(method, "/")).json(), server.connections
            except httpx.RemoteProtocolError as error:
                return error, server.connections

    answer, connections = run(scenario())
    if retried:
        assert answer == {"ok": True}
        assert connections == 2
    else:
        assert isinstance(answer, httpx.RemoteProtocolError)
        assert connections == 1


def test_read_timeout_discards_the_connection() -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        if conn.index == 1:
            await asyncio.sleep(5)
        else:
            await conn.send(ok())

    async def scenario() -> tuple[type[BaseException], Any, int]:
        async with Server(handler) as server, client(server, timeout=0.2) as http:
            with pytest.raises(httpx.ReadTimeout) as caught:
                await http.get("/slow", timeout=0.2)
            return caught.type, (await http.get("/")).json(), server.connections

    error, answer, connections = run(scenario())
    assert error is httpx.ReadTimeout
    assert answer == {"ok": True}
    assert connections == 2


def test_pool_timeout_when_every_connection_is_busy() -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n12345")  # a big body begun, then nothing
        await asyncio.sleep(5)

    async def scenario() -> None:
        async with (
            Server(handler) as server,
            client(server, max_connections=1) as http,
            http.stream("GET", "/") as held,
        ):
            assert held.status_code == 200
            with pytest.raises(httpx.PoolTimeout):
                await http.get("/", timeout=httpx.Timeout(5.0, pool=0.2))

    run(scenario())


def test_waiters_get_connections_in_turn() -> None:
    async def handler(conn: Conn) -> None:
        while (req := await conn.request()) is not None:
            await asyncio.sleep(0.01)
            await conn.send(ok(req[0].split(b" ")[1]))

    async def scenario() -> tuple[list[bytes], int]:
        async with Server(handler) as server, client(server, max_connections=2) as http:
            answers = await asyncio.gather(*(http.get(f"/{i}") for i in range(20)))
            return [a.content for a in answers], server.connections

    bodies, connections = run(scenario())
    assert bodies == [f"/{i}".encode() for i in range(20)]
    assert connections == 2


@pytest.mark.parametrize(("delay", "fewest", "most"), [(0.0, 1, 8), (0.1, 8, 40)])
def test_pool_grows_only_as_far_as_the_answers_take(delay: float, fewest: int, most: int) -> None:
    """A burst against a fast server reuses a few connections; a slow server gets more of them."""

    async def handler(conn: Conn) -> None:
        while await conn.request() is not None:
            await asyncio.sleep(delay)
            await conn.send(ok())

    async def scenario() -> int:
        async with Server(handler) as server, client(server, max_connections=100) as http:
            for _ in range(3):
                answers = await asyncio.gather(*(http.get("/") for _ in range(40)))
                assert all(a.status_code == 200 for a in answers)
            return server.connections

    assert fewest <= run(scenario()) <= most


def test_connect_error_and_unsupported_scheme() -> None:
    async def scenario() -> None:
        async with Server(serve_forever) as server:
            url = server.url
        transport = LeanAsyncTransport()
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(url + "/")  # nothing listens there any more
            with pytest.raises(httpx.UnsupportedProtocol):
                await http.get("ftp://example.com/")

    run(scenario())


@pytest.mark.parametrize(
    "answer",
    [
        b"NOT-HTTP 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_answers_are_protocol_errors(answer: bytes) -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(answer)
        await asyncio.sleep(1)

    async def scenario() -> None:
        async with Server(handler) as server, client(server) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/")

    run(scenario())


def test_cut_body_is_a_protocol_error() -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        conn.close()

    async def scenario() -> None:
        async with Server(handler) as server, client(server) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/")

    run(scenario())


def test_header_with_a_line_break_is_refused_before_sending() -> None:
    async def scenario() -> int:
        async with Server(serve_forever) as server, client(server) as http:
            request = http.build_request("GET", "/")
            request.headers["X-Evil"] = "a\r\nInjected: yes"
            with pytest.raises(httpx.LocalProtocolError):
                await http.send(request)
            return server.connections

    assert run(scenario()) <= 1


def test_cancelled_request_closes_its_connection() -> None:
    async def handler(conn: Conn) -> None:
        await conn.request()
        await asyncio.sleep(5)

    async def scenario() -> tuple[int, int]:
        async with Server(handler) as server:
            transport = LeanAsyncTransport()
            async with httpx.AsyncClient(base_url=server.url, transport=transport) as http:
                task = asyncio.create_task(http.get("/"))
                await asyncio.sleep(0.1)
                during = transport.open_connections
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return during, transport.open_connections

    during, after = run(scenario())
    assert (during, after) == (1, 0)


# ----- TLS ---------------------------------------------------------------------------------------


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_verifies_against_the_given_context(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(reader, writer, 1)
        try:
            await serve_forever(conn)
        finally:
            writer.close()

    async def scenario() -> tuple[Any, type[BaseException]]:
        server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        trusted = ssl.create_default_context(cafile=str(cert))
        try:
            async with httpx.AsyncClient(transport=LeanAsyncTransport(verify=trusted)) as http:
                answer = (await http.get(f"https://localhost:{port}/")).json()
            async with httpx.AsyncClient(transport=LeanAsyncTransport(verify=True)) as http:
                with pytest.raises(httpx.ConnectError) as caught:
                    await http.get(f"https://localhost:{port}/")  # self-signed: not in the default store
            return answer, caught.type
        finally:
            server.close()

    answer, error = run(scenario())
    assert answer == {"ok": True}
    assert error is httpx.ConnectError
