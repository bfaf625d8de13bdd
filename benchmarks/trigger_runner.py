"""Run many triggers in ONE asyncio event loop the way Airflow's triggerer does, and measure it.

Child process of ``waits.py`` and ``api_calls.py``. Imports Airflow and the trigger classes named on
the command line, looks each connection up once (so imports are paid before, as in a long-running
triggerer), prints ``ready``, then waits for ``go <unix time> <spec.json>`` on stdin. The spec lists
``{key, classpath, kwargs, offset}``; from that time it creates each trigger ``offset`` seconds later like
``TriggerRunner.create_triggers`` does (class from its classpath, instance from its serialized kwargs
after a JSON round trip, ``await asyncio.sleep(0)`` between creations) and runs it like
``TriggerRunner.run_trigger`` (greenback portal, ``async for event in trigger.run()``).

Connections come from ``AIRFLOW_CONN_*`` in this process's environment, looked up by the triggers
themselves through Airflow's async connection API. Log records of INFO and up are formatted and
dropped (their formatting cost is paid, no I/O), as the triggerer formats every line it ships.

Measured here, in this process only: CPU (getrusage, all threads), RSS (sampled), event-loop lag
(a ticker every 100 ms: how late it wakes), and each trigger's event time and payload. Prints one
JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import logging
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import CLIENT_CPU, percentile, pin, process_cpu, rss_bytes


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def configure_logging(level: str) -> None:
    """Keep the logging Airflow configured on import (structlog, INFO, httpx at WARNING), but point
    its handlers at a sink: every line is still rendered, nothing is written."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(_Discard())
    root.setLevel(getattr(logging, level))


async def warm_up(conn_ids: list[str]) -> None:
    """Look each connection up once, as earlier triggers would have (first use imports a lot)."""
    from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
    from airflow.sdk import BaseHook

    for conn_id in conn_ids:
        conn = await get_async_connection(conn_id, hook=BaseHook())
        await get_async_extra_dejson(conn)


def count_polls(runner: Runner) -> None:
    """Count ``apoll_job`` calls (for the per-second timeline; costs a function call per poll)."""
    try:
        from airflow_provider_vidjobs.hooks.base import VideoJobHook
    except ImportError:
        return
    original = VideoJobHook.apoll_job

    async def apoll_job(self: Any, job_id: str) -> Any:
        runner.polls += 1
        return await original(self, job_id)

    VideoJobHook.apoll_job = apoll_job  # type: ignore[method-assign]


def runqueue_wait() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (0 where Linux does not say)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def import_string(path: str) -> Any:
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class Runner:
    def __init__(self, spec: dict[str, Any], use_greenback: bool) -> None:
        self.items: list[dict[str, Any]] = sorted(spec["triggers"], key=lambda item: item["offset"])
        self.use_greenback = use_greenback
        self.events: dict[str, list[Any]] = {}
        self.failures: dict[str, str] = {}
        self.lags: list[float] = []
        self.rss_samples: list[int] = []
        self.pending = len(self.items)
        self.all_done = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.self_lags: list[float] = []
        self.timeline: list[tuple[float, float, int, int]] = []  # (seconds, cpu, polls, events) each second
        self.polls = 0
        self.gc_pauses: list[tuple[int, float]] = []
        self._gc_start = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_pauses.append((info["generation"], time.perf_counter() - self._gc_start))

    async def run_trigger(self, key: str, trigger: Any) -> None:
        try:
            if self.use_greenback:
                import greenback

                await greenback.ensure_portal()
            async for event in trigger.run():
                payload = event.payload
                outcome = payload.get("outcome") if isinstance(payload, dict) else ("succeeded" if payload else payload)
                message = payload.get("message") if isinstance(payload, dict) else None
                self.events[key] = [time.time(), outcome, message]
        except BaseException as error:
            self.failures[key] = f"{type(error).__name__}: {error}"[:300]
        finally:
            self.pending -= 1
            if self.pending == 0:
                self.all_done.set()

    async def create(self, t0: float) -> None:
        classes: dict[str, Any] = {}
        for item in self.items:
            due = t0 + item["offset"]
            now = time.time()
            if due > now:
                await asyncio.sleep(due - now)
            await asyncio.sleep(0)
            cls = classes.get(item["classpath"])
            if cls is None:
                cls = classes[item["classpath"]] = import_string(item["classpath"])
            await asyncio.sleep(0)
            kwargs = json.loads(json.dumps(item["kwargs"]))  # what the trigger table holds
            trigger = cls(**kwargs)
            task = asyncio.create_task(self.run_trigger(item["key"], trigger), name=item["key"])
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def ticker(self, period: float) -> None:
        """How late a 100 ms timer fires: the wait any trigger's timer or socket would see.

        Also that lateness minus the time this thread spent waiting for a CPU the OS gave to other
        processes (``/proc/thread-self/schedstat``): the part the event loop itself caused."""
        loop = asyncio.get_running_loop()
        expected = loop.time() + period
        waited = runqueue_wait()
        n = 0
        while not self.all_done.is_set():
            await asyncio.sleep(max(0.0, expected - loop.time()))
            now, waited_now = loop.time(), runqueue_wait()
            lag = max(0.0, now - expected)
            self.lags.append(lag)
            self.self_lags.append(max(0.0, lag - (waited_now - waited)))
            expected, waited = now + period, waited_now
            n += 1
            if n % 10 == 0:
                self.rss_samples.append(rss_bytes())
                self.timeline.append((now - self._loop_t0, process_cpu(), self.polls, len(self.events)))

    async def main(self, t0: float, limit: float) -> dict[str, Any]:
        now = time.time()
        if t0 > now:
            await asyncio.sleep(t0 - now)
        gc.collect()
        gc.callbacks.append(self.on_gc)
        rss0 = rss_bytes()
        cpu0, wall0 = process_cpu(), time.time()
        self._loop_t0 = asyncio.get_running_loop().time()
        tick = asyncio.create_task(self.ticker(0.1))
        creator = asyncio.create_task(self.create(wall0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_done.wait(), limit)
        cpu1, wall1 = process_cpu(), time.time()
        self.rss_samples.append(rss_bytes())
        creator.cancel()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(creator, tick, *self.tasks, return_exceptions=True)
        return {
            "t0": wall0,
            "wall_s": wall1 - wall0,
            "cpu_s": cpu1 - cpu0,
            "rss_base": rss0,
            "rss_peak": max(self.rss_samples),
            "ticks": len(self.lags),
            "lag_p50": percentile(self.lags, 50),
            "lag_p99": percentile(self.lags, 99),
            "lag_max": max(self.lags) if self.lags else None,
            "self_lag_p99": percentile(self.self_lags, 99),
            "gc_full_count": sum(1 for gen, _ in self.gc_pauses if gen == 2),
            "gc_full_max": max((d for gen, d in self.gc_pauses if gen == 2), default=0.0),
            "gc_total": sum(d for _, d in self.gc_pauses),
            "events": self.events,
            "failures": self.failures,
            "unfinished": self.pending,
            "timeline": [(round(t, 1), round(c - cpu0, 3), p, e) for t, c, p, e in self.timeline],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classpath", action="append", default=[], help="trigger class to import up front")
    parser.add_argument("--conn-id", action="append", default=[], help="connection to look up once up front")
    parser.add_argument("--no-greenback", action="store_true", help="skip the greenback portal the triggerer adds")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--cpu", type=int, default=CLIENT_CPU)
    parser.add_argument("--profile", help="write a cProfile of the measured run to this file")
    parser.add_argument("--log-level", default="INFO", help="root log level (the triggerer's default is INFO)")
    args = parser.parse_args()
    pin(args.cpu)
    # Import what the triggerer would have imported already (Airflow, the trigger classes, greenback).
    import airflow.sdk  # noqa: F401
    import greenback  # noqa: F401

    configure_logging(args.log_level)

    for classpath in args.classpath:
        import_string(classpath)
    asyncio.run(warm_up(args.conn_id))
    print("ready", flush=True)
    line = sys.stdin.readline().split()
    if len(line) != 3 or line[0] != "go":
        raise SystemExit("expected 'go <t0> <spec.json>' on stdin")
    with open(line[2]) as f:
        spec = json.load(f)
    runner = Runner(spec, use_greenback=not args.no_greenback)
    count_polls(runner)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, runner.main(float(line[1]), args.timeout))
        profiler.dump_stats(args.profile)
    else:
        result = asyncio.run(runner.main(float(line[1]), args.timeout))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
