"""Offline model of the polling policy: thousands of waits in a second, no server, for tuning.

Replays ``PollPlanner`` (the real class) against jobs that behave like the simulator's: queued, then
progress rising linearly with uniform noise, then done. Same job population as target 3 (durations
log-normal between 20 s and 10 min). Prints calls per job and detection lag for the adaptive policy
and for a fixed interval. ``api_calls.py`` measures the same thing for real, through the triggers and
the simulator; this model is what the defaults were tuned with, and it can try other shapes of
progress (``--shape``) that the simulator does not produce.

    python benchmarks/policy_model.py
    python benchmarks/policy_model.py --policy '{"eta_fraction": 0.7}' --shape late
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import percentile


@dataclass
class ModelJob:
    queued_s: float
    running_s: float
    noise: float
    shape: str = "linear"

    @property
    def end(self) -> float:
        return self.queued_s + self.running_s

    def progress(self, t: float, rng: random.Random) -> float:
        x = (t - self.queued_s) / self.running_s
        if self.shape == "late":  # slow start, fast finish (the estimate runs long)
            x = x**2
        elif self.shape == "early":  # fast start, slow finish (the estimate runs short)
            x = math.sqrt(x)
        elif self.shape == "stall":  # stalls at 90% for the last fifth
            x = min(0.9, x / 0.8 * 0.9)
        base = min(99.0, 100.0 * x)
        return max(0.0, min(99.0, base + rng.uniform(-self.noise, self.noise)))


def population(n: int, seed: int, *, low: float = 20.0, high: float = 600.0, noise: float = 3.0) -> list[ModelJob]:
    """Durations log-normal with ``low`` and ``high`` at -2 and +2 sigma (clipped to them), 0-20% queued."""
    rng = random.Random(seed)
    mu = (math.log(low) + math.log(high)) / 2
    sigma = (math.log(high) - math.log(low)) / 4
    jobs = []
    for _ in range(n):
        duration = min(high, max(low, math.exp(rng.gauss(mu, sigma))))
        queued = duration * rng.uniform(0.0, 0.2)
        jobs.append(ModelJob(queued, duration - queued, noise))
    return jobs


class _Job:
    """What ``PollPlanner.observe`` reads of a ``VideoJob``."""

    __slots__ = ("progress", "status")

    def __init__(self, status: Any, progress: float | None) -> None:
        self.status = status
        self.progress = progress


def replay(policy: Any, job: ModelJob, rng: random.Random, first_delay: float | None = None) -> tuple[int, float]:
    """(calls, detection lag) of one wait, as ``VideoJobTrigger`` runs it (first poll after min_interval)."""
    from airflow_provider_vidjobs.models import JobStatus
    from airflow_provider_vidjobs.polling import PollPlanner

    planner = PollPlanner(policy, _rng=rng)
    t = policy.min_interval if first_delay is None else first_delay
    calls = 0
    while True:
        calls += 1
        if t >= job.end:
            return calls, t - job.end
        if t < job.queued_s:
            seen = _Job(JobStatus.QUEUED, 0.0)
        else:
            seen = _Job(JobStatus.RUNNING, round(job.progress(t, rng), 1))
        planner.observe(seen, t)  # type: ignore[arg-type]
        t += planner.next_delay(None)


def evaluate(policy: Any, jobs: list[ModelJob], seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    calls, lags = [], []
    for job in jobs:
        c, lag = replay(policy, job, rng)
        calls.append(c)
        lags.append(lag)
    return {
        "calls_per_job": sum(calls) / len(calls),
        "lag_p50_s": percentile(lags, 50),
        "lag_p95_s": percentile(lags, 95),
        "lag_max_s": max(lags),
    }


def main() -> None:
    from airflow_provider_vidjobs.polling import PollPolicy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--policy", default="{}", help="PollPolicy fields (JSON) on top of the defaults")
    parser.add_argument("--fixed", type=float, default=5.0, help="the fixed interval to compare with")
    parser.add_argument("--shape", default="linear", choices=["linear", "late", "early", "stall"])
    parser.add_argument("--noise", type=float, default=3.0)
    args = parser.parse_args()
    jobs = population(args.n, args.seed, noise=args.noise)
    for job in jobs:
        job.shape = args.shape
    adaptive = PollPolicy.from_dict(json.loads(args.policy))
    fixed = PollPolicy(min_interval=args.fixed, max_interval=args.fixed, adaptive=False)
    ours, base = evaluate(adaptive, jobs, args.seed), evaluate(fixed, jobs, args.seed)
    print(json.dumps({"adaptive": ours, "fixed": base, "call_ratio": ours["calls_per_job"] / base["calls_per_job"]}))


if __name__ == "__main__":
    main()
