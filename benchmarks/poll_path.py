"""Issue 15: which package files one poll runs code in (target: <= 8), traced through a real wait.

For each registered API, one ``VideoJobTrigger`` waits on a simulator job after a warm-up wait (which
pays the one-time setup: settings, client pool, connection). Every call into a package file during
the traced wait is counted; a file counts as "on a poll's path" when it is called on (nearly) every
poll, and as "in the wait" when it is called at all (setup and the final event included).

    python benchmarks/poll_path.py              # every API
    python benchmarks/poll_path.py replicate    # one
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import airflow_provider_vidjobs
from airflow_provider_vidjobs.testing.simulator import start_simulator

ROOT = Path(airflow_provider_vidjobs.__file__).parent
TRACED_JOB = {"queued_s": 1.0, "running_s": 3.0}


def trace_wait(sim: Any, api: str) -> tuple[int, collections.Counter[str]]:
    """(polls, calls per package file) of one traced wait on ``api``."""
    from airflow_provider_vidjobs.hooks.registry import HOOKS
    from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

    calls: collections.Counter[str] = collections.Counter()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            path = Path(frame.f_code.co_filename)
            if path.is_relative_to(ROOT) and "testing" not in path.parts:
                calls[str(path.relative_to(ROOT))] += 1

    def trigger(job: dict[str, Any]) -> VideoJobTrigger:
        policy = {"min_interval": 0.2, "max_interval": 0.2, "adaptive": False}
        return VideoJobTrigger(provider=api, conn_id=HOOKS[api].default_conn_name, job_id=job["id"], poll_policy=policy)

    async def waits() -> None:
        await trigger(sim.control.create_job(api, sim={"queued_s": 0.2, "running_s": 0.5})).run().__anext__()
        traced = trigger(sim.control.create_job(api, sim=TRACED_JOB))
        sys.setprofile(profile)
        try:
            await traced.run().__anext__()
        finally:
            sys.setprofile(None)

    asyncio.run(waits())
    last_job = list(sim.control.stats()["jobs"].values())[-1]
    return int(last_job["requests"]), calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apis", nargs="*", help="APIs to trace (default: every registered one)")
    args = parser.parse_args()
    from airflow_provider_vidjobs.hooks.registry import HOOKS

    sim = start_simulator()
    try:
        for name, value in sim.airflow_connections().items():
            os.environ[name] = value
        for api in args.apis or list(HOOKS):
            polls, calls = trace_wait(sim, api)
            per_poll = sorted(path for path, count in calls.items() if count >= polls - 2)
            print(f"{api}: {polls} polls; a poll runs code in {len(per_poll)} files, the whole wait in {len(calls)}")
            for path in sorted(calls):
                marker = "poll" if path in per_poll else "    "
                print(f"  {marker} {calls[path] / polls:6.2f} calls/poll  {path}")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
