"""Load test of the vidjobs simulator: status GETs per second on keep-alive connections.

Starts the simulator in a subprocess pinned to one CPU core, then N raw-asyncio clients (on the other
cores, each over one keep-alive connection) poll ``GET /api/video-gen/jobs/{id}/`` and
``GET /v1/videos/{id}`` in turn for a fixed time. Prints requests/s and checks every answer was 200.

    /work/venv/bin/python benchmarks/simulator_load.py --clients 32 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from urllib.parse import quote, urlsplit

from airflow_provider_vidjobs.testing.simulator import start_simulator_process


async def _client(host: str, port: int, requests: list[bytes], deadline: float, counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            await reader.readexactly(length)
            counts["ok" if status == b"200" else "bad"] += 1
    finally:
        writer.close()


async def _run(url: str, paths: list[tuple[str, str]], clients: int, duration: float) -> dict[str, int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: {auth}\r\nAccept: application/json\r\n\r\n"
        ).encode()
        for path, auth in paths
    ]
    counts = {"ok": 0, "bad": 0}
    deadline = time.perf_counter() + duration
    await asyncio.gather(
        *(_client(host, port, requests[i % 2 :] + requests[: i % 2], deadline, counts) for i in range(clients))
    )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--server-cpu", type=int, default=0, help="core the simulator is pinned to")
    args = parser.parse_args()

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    client_cpus = {c for c in cpus if c != args.server_cpu}
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    with start_simulator_process(cpu=args.server_cpu if cpus else None) as sim:
        tp = sim.control.create_job("tensorpix", sim={"queued_s": 1, "running_s": 3600})
        ah = sim.control.create_job("aihubmix", id_style="slashy", sim={"queued_s": 1, "running_s": 3600})
        paths = [
            (f"/api/video-gen/jobs/{tp['id']}/", f"Token {sim.tensorpix_key}"),
            (f"/v1/videos/{quote(ah['id'], safe='')}", f"Bearer {sim.aihubmix_key}"),
        ]
        sim.control.reset_stats()
        started = time.perf_counter()
        counts = asyncio.run(_run(sim.url, paths, args.clients, args.duration))
        elapsed = time.perf_counter() - started
        stats = sim.control.stats()
    total = counts["ok"] + counts["bad"]
    print(f"server: 1 core (cpu {args.server_cpu}); clients: {args.clients} keep-alive connections")
    print(f"client cores: {sorted(client_cpus)}")
    print(f"requests: {total} in {elapsed:.1f} s -> {total / elapsed:,.0f} requests/s (non-200: {counts['bad']})")
    print(f"server saw {stats['requests_total']} requests on {stats['connections']['api_accepted']} connections")
    if counts["bad"]:
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
