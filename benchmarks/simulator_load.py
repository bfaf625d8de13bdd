"""Load test of the vidjobs simulator: status GETs per second on keep-alive connections.

Starts the simulator in a subprocess pinned to one CPU core, then N raw-asyncio clients (on the other
cores, each over one keep-alive connection) poll ``GET /api/video-gen/jobs/{id}/`` and
``GET /v1/videos/{id}`` in turn for a fixed time. Prints requests/s and checks every answer was 200.

    /work/venv/bin/python benchmarks/simulator_load.py --clients 32 --duration 10 [--download-mib 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
from urllib.parse import quote, urlsplit

import httpx

from airflow_provider_vidjobs.testing.simulator import (
    SimulatorHandle,
    start_simulator_process,
    synthetic_video_sha256,
)


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


def _cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc), to report requests per server CPU-second."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _download(url: str, key: str, sim: SimulatorHandle, size: int) -> None:
    """Stream one large synthetic video and check its size and sha256."""
    job = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0, "asset_size_bytes": size})
    digest, got = hashlib.sha256(), 0
    started = time.perf_counter()
    path = f"{url}/v1/videos/{quote(job['id'], safe='')}/content"
    with httpx.stream("GET", path, headers={"Authorization": f"Bearer {key}"}, trust_env=False, timeout=60) as resp:
        assert int(resp.headers["content-length"]) == size
        for chunk in resp.iter_raw(1 << 20):
            digest.update(chunk)
            got += len(chunk)
    elapsed = time.perf_counter() - started
    ok = got == size and digest.hexdigest() == synthetic_video_sha256(size, job["id"])
    print(f"download: {got / 2**20:,.0f} MiB in {elapsed:.1f} s -> {got / 2**20 / elapsed:,.0f} MiB/s, sha256 ok: {ok}")
    if not ok:
        raise SystemExit("download mismatch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--server-cpu", type=int, default=0, help="core the simulator is pinned to")
    parser.add_argument("--download-mib", type=int, default=0, help="also download a video of this size, check sha256")
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
        pid = sim.process.pid if sim.process is not None else 0
        cpu_before = _cpu_seconds(pid)
        started = time.perf_counter()
        counts = asyncio.run(_run(sim.url, paths, args.clients, args.duration))
        elapsed = time.perf_counter() - started
        cpu_after = _cpu_seconds(pid)
        stats = sim.control.stats()
        if args.download_mib:
            _download(sim.url, sim.aihubmix_key, sim, args.download_mib * 1024 * 1024)
    total = counts["ok"] + counts["bad"]
    print(f"server: 1 core (cpu {args.server_cpu}); clients: {args.clients} keep-alive connections")
    print(f"client cores: {sorted(client_cpus)}")
    print(f"requests: {total} in {elapsed:.1f} s -> {total / elapsed:,.0f} requests/s (non-200: {counts['bad']})")
    print(f"server saw {stats['requests_total']} requests on {stats['connections']['api_accepted']} connections")
    if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
        busy = cpu_after - cpu_before
        print(
            f"server CPU: {busy:.1f} s busy of {elapsed:.1f} s -> {total / busy:,.0f} requests per CPU-second "
            "(the capacity of one free core, whatever else the machine is doing)"
        )
    if counts["bad"]:
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
