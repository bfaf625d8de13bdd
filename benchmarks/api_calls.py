"""API calls per wait: the adaptive poll policy against a fixed 5 s interval (target 3).

1,000 jobs whose durations are log-normal between 20 s and 10 min (20 s and 10 min at -2/+2 sigma,
clipped), 0-20% of it queued, progress rising linearly with +/-3 points of noise, half TensorPix and
half AIHubMix. Every job is waited for twice at once, in one trigger process: by a ``VideoJobTrigger``
with the default adaptive policy and by one with ``adaptive=False, min_interval=max_interval=5``.
(Two jobs with the same timeline, so each wait's calls are counted separately by the simulator.)

Time is compressed: the simulator runs ``--time-scale`` times faster and every interval of both
policies is divided by the same factor, so calls are unchanged and lags are reported in simulated
seconds (real lag x time scale). Detection lag = event time - the job's completion time per the
simulator's clock.

    python benchmarks/api_calls.py --jobs 1000 --time-scale 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import BENCH, bench_env, percentile, python, simulator
from waits import CLASSPATHS, create_jobs

FIXED_S = 5.0


def durations(n: int, seed: int, low: float = 20.0, high: float = 600.0) -> list[tuple[float, float]]:
    """(queued, running) per job, simulated seconds; the same population as ``policy_model.py``."""
    rng = random.Random(seed)
    mu, sigma = (math.log(low) + math.log(high)) / 2, (math.log(high) - math.log(low)) / 4
    out = []
    for _ in range(n):
        duration = min(high, max(low, math.exp(rng.gauss(mu, sigma))))
        queued = duration * rng.uniform(0.0, 0.2)
        out.append((queued, duration - queued))
    return out


def policies(scale: float) -> dict[str, dict[str, Any]]:
    from airflow_provider_vidjobs.polling import PollPolicy

    default = PollPolicy()
    adaptive = PollPolicy(min_interval=default.min_interval / scale, max_interval=default.max_interval / scale)
    fixed = PollPolicy(min_interval=FIXED_S / scale, max_interval=FIXED_S / scale, adaptive=False)
    return {"adaptive": adaptive.to_dict(), "fixed": fixed.to_dict()}


class SimClock:
    """Maps the simulator's (scaled) clock to this machine's wall clock."""

    def __init__(self, control: Any, scale: float) -> None:
        before = time.time()
        sim_now = control.now()
        after = time.time()
        self.real0, self.sim0, self.scale = (before + after) / 2, sim_now, scale

    def real(self, sim_time: float) -> float:
        return self.real0 + (sim_time - self.sim0) / self.scale


def run(n: int, scale: float, arrival_s: float, seed: int) -> dict[str, Any]:
    from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

    pols = policies(scale)
    with simulator(seed=seed, time_scale=scale, keep_alive_timeout_s=15.0) as sim:
        env = dict(sim.airflow_connections())
        with tempfile.TemporaryDirectory() as tmp:
            spec_path = os.path.join(tmp, "spec.json")
            cmd = [python(), str(BENCH / "trigger_runner.py"), "--classpath", CLASSPATHS["vidjobs"]]
            cmd += ["--conn-id", "tensorpix_default", "--conn-id", "aihubmix_default"]
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=bench_env(env))
            assert proc.stdin is not None
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                proc.kill()
                raise RuntimeError("trigger runner did not start")
            t0_planned = time.time() + 2.0 + 2 * n / 700
            specs = []
            for i, (queued, running) in enumerate(durations(n, seed)):
                offset = arrival_s * i / n
                for policy in ("adaptive", "fixed"):
                    specs.append(
                        {
                            "index": len(specs),
                            "api": ("tensorpix", "aihubmix")[i % 2],
                            "policy": policy,
                            "offset": offset,
                            "start_at": t0_planned + offset,
                            "queue": queued,
                            "timeline": {"running_s": running, "progress_noise": 3.0},
                        }
                    )
            for spec in specs:
                spec["scale"] = scale  # queued_s is in simulated seconds
            jobs = create_jobs(sim, specs)
            items = []
            for job in jobs:
                policy = pols[job["policy"]]
                trigger = VideoJobTrigger(
                    provider=job["api"],
                    conn_id=f"{job['api']}_default",
                    job_id=job["view"]["id"],
                    poll_policy=policy,
                    first_poll_delay=policy["min_interval"],
                )
                classpath, kwargs = trigger.serialize()
                items.append(
                    {"key": job["view"]["id"], "classpath": classpath, "kwargs": kwargs, "offset": job["offset"]}
                )
            with open(spec_path, "w") as f:
                json.dump({"triggers": items}, f)
            sim.control.reset_stats()
            clock = SimClock(sim.control, scale)
            t0 = max(t0_planned, time.time() + 0.5)
            proc.stdin.write(f"go {t0} {spec_path}\n")
            proc.stdin.flush()
            out, _ = proc.communicate(timeout=arrival_s + 700 / scale + 600)
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"trigger runner failed ({proc.returncode})")
            result = json.loads(lines[-1])
        stats = sim.control.stats()
    return summarize(jobs, result, stats, clock, n=n, scale=scale)


def summarize(
    jobs: list[dict[str, Any]], result: dict[str, Any], stats: dict[str, Any], clock: SimClock, *, n: int, scale: float
) -> dict[str, Any]:
    out: dict[str, Any] = {"jobs": n, "time_scale": scale, "failures": list(result["failures"].values())[:5]}
    for policy in ("adaptive", "fixed"):
        lags, calls, wrong = [], [], 0
        for job in jobs:
            if job["policy"] != policy:
                continue
            view = job["view"]
            key = view["id"]
            event = result["events"].get(key)
            calls.append(stats["jobs"].get(key, {}).get("requests", 0))
            if event is None or event[1] != "succeeded":
                wrong += 1
                continue
            done = (
                float(view["created_at"]) + float(view["timeline"]["queued_s"]) + float(view["timeline"]["running_s"])
            )
            lags.append((event[0] - clock.real(done)) * scale)
        out[policy] = {
            "calls_per_job": sum(calls) / max(1, len(calls)),
            "lag_p50_s": percentile(lags, 50),
            "lag_p95_s": percentile(lags, 95),
            "lag_max_s": max(lags) if lags else None,
            "wrong": wrong,
        }
    out["call_ratio"] = out["adaptive"]["calls_per_job"] / max(1e-9, out["fixed"]["calls_per_job"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=5.0)
    parser.add_argument("--arrival-s", type=float, default=10.0, help="real seconds over which the waits start")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.jobs, args.time_scale, args.arrival_s, args.seed)), flush=True)


if __name__ == "__main__":
    main()
