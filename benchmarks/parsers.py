"""Per-answer CPU of the HTTP/1.1 parsers considered for ``http/connection.py`` (issue 17).

One typical job answer (5 headers, a 124-byte JSON body), parsed N times; best of 5, process CPU.
``httptools`` is timed with the callbacks the transport uses (headers and body collected); ``h11``
with a request sent first on a reused connection, as a client must (it checks the answer against it).

    python benchmarks/parsers.py              # the parsers alone
    python benchmarks/parsers.py --loopback   # client CPU per GET through LeanAsyncTransport

``--loopback`` serves the same answer from a child process and times the client's process CPU per
GET (straight to the transport, as the hooks send), one at a time and 50 at once, best of 3 x 20,000.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

import h11
import httptools

BODY = (
    b'{"id":"job-123","status":"processing","progress":42,"created_at":1700000000,'
    b'"model":"sora-2","seconds":"8","size":"1280x720"}'
)
ANSWER = (
    b"HTTP/1.1 200 OK\r\ndate: Wed, 02 Dec 2026 12:00:00 GMT\r\nserver: uvicorn\r\ncontent-length: %d\r\n"
    b"content-type: application/json\r\nx-request-id: req-abc-123\r\n\r\n%b"
) % (len(BODY), BODY)
N = 50_000


class _Callbacks:
    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        pass

    def on_body(self, data: bytes) -> None:
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.done = True


def httptools_parse() -> Callable[[], None]:
    callbacks = _Callbacks()
    parser = httptools.HttpResponseParser(callbacks)

    def parse() -> None:
        callbacks.headers, callbacks.body = [], []
        parser.feed_data(ANSWER)
        parser.get_status_code()
        parser.should_keep_alive()

    return parse


def h11_parse() -> Callable[[], None]:
    conn = h11.Connection(h11.CLIENT)

    def parse() -> None:
        conn.send(h11.Request(method="GET", target="/v1/videos/job-123", headers=[("host", "api")]))
        conn.send(h11.EndOfMessage())
        conn.receive_data(ANSWER)
        while not isinstance(conn.next_event(), h11.EndOfMessage):
            pass
        conn.start_next_cycle()

    return parse


def best_us(parse: Callable[[], None]) -> float:
    for _ in range(2_000):
        parse()
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(N):
            parse()
        best = min(best, (time.process_time() - started) / N * 1e6)
    return best


_SERVER = f"""
import asyncio
answer = {ANSWER!r}
class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buf = transport, b""
    def data_received(self, data):
        self.buf += data
        while b"\\r\\n\\r\\n" in self.buf:
            self.buf = self.buf.partition(b"\\r\\n\\r\\n")[2]
            self.transport.write(answer)
async def main():
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def _loopback(port: int) -> str:
    import httpx

    from airflow_provider_vidjobs.http.transport import LeanAsyncTransport

    transport = LeanAsyncTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        request = http.build_request("GET", f"http://127.0.0.1:{port}/v1/videos/job-123")

        async def one() -> None:
            response = await transport.handle_async_request(request)
            await response.aread()

        for _ in range(2_000):
            await one()
        figures = []
        for concurrency in (1, 50):
            best, n = float("inf"), 20_000
            for _ in range(3):
                started = time.process_time()
                for _ in range(n // concurrency):
                    await asyncio.gather(*(one() for _ in range(concurrency)))
                best = min(best, (time.process_time() - started) / n * 1e6)
            figures.append(f"{concurrency} at once: {best:.1f} us")
        return "LeanAsyncTransport per GET, " + "; ".join(figures)


def loopback() -> None:
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        print(asyncio.run(_loopback(int(server.stdout.readline()))))
    finally:
        server.kill()


if __name__ == "__main__":
    if "--loopback" in sys.argv:
        loopback()
    else:
        for name, make in (("httptools", httptools_parse), ("h11", h11_parse)):
            print(f"{name:10s} {best_us(make()):6.2f} us per answer")
