"""The options measured for issue #6: N pollers in ONE event loop, each polling its own job every
``--interval`` seconds (+/-10% jitter), with different HTTP client designs.

Each style runs in a fresh process on the client core (simulator on the other): ``--warm`` seconds
to reach a steady state, then ``--seconds`` measured. Reported per style: CPU per poll (the poller
process's own CPU / polls), poll latency p50/p95 (start of the poll to parsed JSON: the time a poll
waits for a connection counts, so a client that falls behind shows it here), polls achieved versus
intended, and TCP connections the simulator accepted. Every style reads and ``json.loads`` the body;
the ``hook*`` styles run the whole provider path (request, status check, pydantic model, normalized
``VideoJob``) through ``TensorPixHook.apoll_job``.

    python benchmarks/client_styles.py --n 1000 3000
    python benchmarks/client_styles.py --styles lean,aiohttp_shared --n 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import CLIENT_CPU, MachineLoad, bench_env, percentile, pin, process_cpu, python, run_json, simulator

STYLES = {
    "http_sensor": "a new aiohttp.ClientSession (and TCP connection) per poll, as HttpSensorTrigger does",
    "httpx_default": "one shared httpx.AsyncClient, default limits (100 connections)",
    "httpx_unlimited": "one shared httpx.AsyncClient, no connection limit",
    "httpx_semaphore": "one shared httpx.AsyncClient (32 connections) + a semaphore of 24 (this package before)",
    "aiohttp_shared": "one shared aiohttp.ClientSession (reference, not httpx)",
    "httpx_aiohttp": "one shared httpx.AsyncClient over httpx-aiohttp's AiohttpTransport",
    "httpx_lean": "one shared httpx.AsyncClient over LeanAsyncTransport (this package)",
    "hook_httpcore": "TensorPixHook.apoll_job, whole provider path, shared client over httpcore (32 + semaphore 24)",
    "hook_aiohttp": "TensorPixHook.apoll_job, whole provider path, shared client over httpx-aiohttp",
    "hook": "TensorPixHook.apoll_job, whole provider path, as shipped (LeanAsyncTransport)",
}
Getter = Callable[[str], Awaitable[tuple[int, bytes]]]


async def make_getter(style: str, url: str, key: str) -> tuple[Getter, Callable[[], Awaitable[None]]]:
    headers = {"Authorization": f"Token {key}"}
    if style == "http_sensor":
        import aiohttp

        async def per_poll(path: str) -> tuple[int, bytes]:
            async with aiohttp.ClientSession() as session, session.get(url + path, headers=headers) as r:
                return r.status, await r.read()

        async def nothing() -> None:
            return None

        return per_poll, nothing
    if style == "aiohttp_shared":
        import aiohttp

        session = aiohttp.ClientSession(base_url=url, headers=headers)

        async def shared(path: str) -> tuple[int, bytes]:
            async with session.get(path) as r:
                return r.status, await r.read()

        return shared, session.close
    import httpx

    kwargs: dict[str, Any] = {"base_url": url, "headers": headers, "timeout": 60.0, "trust_env": False}
    semaphore: asyncio.Semaphore | None = None
    if style == "httpx_unlimited":
        kwargs["limits"] = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    elif style == "httpx_semaphore":
        kwargs["limits"] = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        semaphore = asyncio.Semaphore(24)
    elif style == "httpx_aiohttp":
        from httpx_aiohttp import AiohttpTransport

        kwargs["transport"] = AiohttpTransport()
    elif style == "httpx_lean":
        from airflow_provider_vidjobs.http.transport import LeanAsyncTransport

        kwargs["transport"] = LeanAsyncTransport()
    client = httpx.AsyncClient(**kwargs)

    async def via_httpx(path: str) -> tuple[int, bytes]:
        if semaphore is None:
            r = await client.get(path)
        else:
            async with semaphore:
                r = await client.get(path)
        return r.status_code, r.content

    return via_httpx, client.aclose


async def poll_loop(args: argparse.Namespace, ids: list[str]) -> dict[str, Any]:
    url, key, style = args.url, args.key, args.style
    counts = {"polls": 0, "errors": 0}
    latencies: list[float] = []
    measuring = False
    if style.startswith("hook"):
        from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
        from airflow_provider_vidjobs.retry import NO_RETRY

        if style in ("hook_httpcore", "hook_aiohttp"):
            import httpx

            from airflow_provider_vidjobs.http import clients

            if style == "hook_httpcore":
                clients.POOL_SIZE, clients.MAX_IN_FLIGHT = 32, 24
            def other_transport(settings: Any, verify: Any) -> Any:
                if style == "hook_httpcore":
                    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
                    return httpx.AsyncHTTPTransport(verify=verify, limits=limits)
                from httpx_aiohttp import AiohttpTransport

                return AiohttpTransport(verify=verify, limits=httpx.Limits(max_connections=100))

            clients.build_async_transport = other_transport  # the pool's public seam for its transport
        close: Callable[[], Awaitable[None]] | None = None
    else:
        get, close = await make_getter(style, url, key)

    async def poller(job_id: str) -> None:
        await asyncio.sleep(random.uniform(0, args.interval))
        if style.startswith("hook"):
            hook = TensorPixHook("tensorpix_default", retry_policy=NO_RETRY)
            async with hook.async_session():
                while True:
                    started = time.perf_counter()
                    try:
                        await hook.apoll_job(job_id)
                    except Exception:
                        counts["errors"] += 1
                    if measuring:
                        counts["polls"] += 1
                        latencies.append(time.perf_counter() - started)
                    await asyncio.sleep(args.interval * random.uniform(0.9, 1.1))
        path = f"/api/video-gen/jobs/{job_id}/"
        while True:
            started = time.perf_counter()
            try:
                status, body = await get(path)
                json.loads(body)
                counts["errors"] += status != 200
            except Exception:
                counts["errors"] += 1
            if measuring:
                counts["polls"] += 1
                latencies.append(time.perf_counter() - started)
            await asyncio.sleep(args.interval * random.uniform(0.9, 1.1))

    tasks = [asyncio.create_task(poller(job_id)) for job_id in ids]
    await asyncio.sleep(args.warm)
    measuring = True
    cpu0, wall0 = process_cpu(), time.perf_counter()
    await asyncio.sleep(args.seconds)
    cpu1, wall1 = process_cpu(), time.perf_counter()
    measuring = False
    for task in tasks:
        task.cancel()
    ended = await asyncio.gather(*tasks, return_exceptions=True)
    died = [e for e in ended if isinstance(e, BaseException) and not isinstance(e, asyncio.CancelledError)]
    if died:  # e.g. an optional client library missing: a row of zero polls would read as a result
        raise RuntimeError(f"{len(died)} of {len(tasks)} pollers died: {died[0]!r}")
    if close is not None:
        await close()
    polls = counts["polls"]
    return {
        "polls": polls,
        "intended": len(ids) * (wall1 - wall0) / args.interval,
        "errors": counts["errors"],
        "cpu_ms_per_poll": 1000 * (cpu1 - cpu0) / max(1, polls),
        "cpu_cores": (cpu1 - cpu0) / (wall1 - wall0),
        "latency_p50_ms": 1000 * percentile(latencies, 50),
        "latency_p95_ms": 1000 * percentile(latencies, 95),
    }


def child(args: argparse.Namespace) -> None:
    pin(CLIENT_CPU)
    with open(args.ids) as f:
        ids = json.load(f)
    os.environ["AIRFLOW_CONN_TENSORPIX_DEFAULT"] = json.dumps(
        {"conn_type": "tensorpix", "host": args.url, "password": args.key}
    )
    result = asyncio.run(poll_loop(args, ids))
    print(json.dumps(result), flush=True)


def run(styles: list[str], sizes: list[int], interval: float, seconds: float, warm: float) -> list[dict[str, Any]]:
    import tempfile

    from waits import create_jobs

    rows = []
    with simulator(keep_alive_timeout_s=15.0) as sim:
        specs = [
            {"index": i, "api": "tensorpix", "start_at": 0.0, "queue": 0.0, "timeline": {"running_s": 36000}}
            for i in range(max(sizes))
        ]
        ids = [job["view"]["id"] for job in create_jobs(sim, specs)]
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes:
                ids_path = os.path.join(tmp, f"ids-{n}.json")
                with open(ids_path, "w") as f:
                    json.dump(ids[:n], f)
                for style in styles:
                    sim.control.reset_stats()
                    load = MachineLoad(sim.process.pid) if sim.process else None
                    cmd = [python(), __file__, "--child", "--style", style, "--url", sim.url]
                    cmd += ["--key", sim.tensorpix_key, "--ids", ids_path, "--interval", str(interval)]
                    cmd += ["--seconds", str(seconds), "--warm", str(warm)]
                    try:
                        result = run_json(cmd, env=bench_env(), timeout=warm + seconds + 300)
                    except RuntimeError as error:
                        result = {"error": str(error)[-300:]}
                    stats = sim.control.stats()
                    result.update(
                        style=style,
                        n=n,
                        interval_s=interval,
                        tcp_connections=stats["connections"]["api_accepted"],
                        others_cores=load.others_cores() if load else None,
                    )
                    rows.append(result)
                    print(json.dumps(result), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", default=",".join(STYLES))
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--interval", type=float, default=1.5)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warm", type=float, default=5.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--style", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = run(args.styles.split(","), args.n, args.interval, args.seconds, args.warm)
    print(json.dumps({"rows": rows, "styles": STYLES}), flush=True)


if __name__ == "__main__":
    main()
