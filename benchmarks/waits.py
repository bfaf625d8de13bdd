"""Many concurrent waits in one triggerer loop against the simulator: targets 1 (capacity) and 2
(side by side with ``HttpSensorTrigger`` from apache-airflow-providers-http).

One run = one simulator (pinned to core 0) + one trigger process (``trigger_runner.py``, core 1):

1. the trigger process starts and imports everything;
2. the jobs are created in the simulator, each timed so that it is queued for 0-10 s after its
   trigger arrives and ends 60-180 s after (some fail, to check failures are reported as such);
3. triggers arrive over ``--arrival-s`` seconds (like tasks deferring), each polling its own job;
4. afterwards: CPU per poll = the trigger process's CPU / the requests the simulator counted for the
   jobs; detection lag = event time - the job's completion time per the simulator; TCP connections
   = connections the simulator accepted that carried API requests.

The peer (``--driver http_sensor``) waits with ``HttpSensorTrigger(endpoint=videos/{id}/)``: that
endpoint answers 404 until the job has a video, which is exactly the sensor's "fire on non-404"
contract. It opens one ``aiohttp.ClientSession`` (and TCP connection) per poll, so it cannot poll
10,000 jobs every 10 s on one core; the side-by-side comparison runs both at a smaller N.

    python benchmarks/waits.py --n 10000                       # target 1
    python benchmarks/waits.py --n 3000 --driver http_sensor   # the peer
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    BENCH,
    MachineLoad,
    bench_env,
    percentile,
    python,
    simulator,
)

HTTP_CONN_ID = "sim_http"
CLASSPATHS = {
    "vidjobs": "airflow_provider_vidjobs.triggers.video_job.VideoJobTrigger",
    "http_sensor": "airflow.providers.http.triggers.http.HttpSensorTrigger",
}


@dataclass
class WaitsConfig:
    n: int = 10_000
    driver: str = "vidjobs"  # or http_sensor
    apis: tuple[str, ...] = ("tensorpix", "aihubmix")
    min_duration: float = 60.0
    max_duration: float = 180.0
    max_queue: float = 10.0
    poll_s: float = 10.0
    arrival_s: float = 30.0
    fail_fraction: float = 0.05
    noise: float = 3.0
    latency_s: float = 0.0
    greenback: bool = True
    seed: int = 6
    profile: str | None = None
    log_level: str = "INFO"
    py_spy: str | None = None
    py_spy_at: float | None = None
    py_spy_s: float = 60.0


def _create(url: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from airflow_provider_vidjobs.testing.simulator import SimulatorControl

    control = SimulatorControl(url)
    try:
        out = []
        for spec in specs:
            timeline = dict(spec["timeline"])
            # queued until its trigger arrives (real seconds x the simulator's time scale), then queue more
            timeline["queued_s"] = max(0.0, spec["start_at"] - time.time()) * spec.get("scale", 1.0) + spec["queue"]
            view = control.create_job(spec["api"], sim=timeline)
            out.append({**spec, "view": view})
        return out
    finally:
        control.close()


def create_jobs(sim: Any, specs: list[dict[str, Any]], threads: int = 8) -> list[dict[str, Any]]:
    """Create jobs in parallel (order kept); each view has ``id``, ``created_at``, ``timeline``..."""
    shards = [specs[i::threads] for i in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(lambda shard: _create(sim.url, shard), shards))
    by_index = {job["index"]: job for shard in done for job in shard}
    return [by_index[i] for i in range(len(specs))]


def completion_time(view: dict[str, Any]) -> float:
    timeline = view["timeline"]
    return float(view["created_at"]) + float(timeline["queued_s"]) + float(timeline["running_s"])


def trigger_item(cfg: WaitsConfig, job: dict[str, Any]) -> dict[str, Any]:
    """The serialized trigger for one job, as the task that deferred would have stored it."""
    view = job["view"]
    if cfg.driver == "vidjobs":
        from airflow_provider_vidjobs.polling import PollPolicy
        from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

        policy = PollPolicy(min_interval=cfg.poll_s, max_interval=cfg.poll_s)
        trigger: Any = VideoJobTrigger(
            provider=job["api"],
            conn_id=f"{job['api']}_default",
            job_id=view["id"],
            poll_policy=policy.to_dict(),
            first_poll_delay=policy.min_interval,  # as waiting.build_trigger sets it
        )
    else:
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        trigger = HttpSensorTrigger(
            endpoint=f"api/video-gen/videos/{view['video_id']}/",
            http_conn_id=HTTP_CONN_ID,
            method="GET",
            poke_interval=cfg.poll_s,
        )
    classpath, kwargs = trigger.serialize()
    return {"key": view["id"], "classpath": classpath, "kwargs": kwargs, "offset": job["offset"]}


def plan(cfg: WaitsConfig) -> list[dict[str, Any]]:
    rng = random.Random(cfg.seed)
    specs = []
    for i in range(cfg.n):
        api = cfg.apis[i % len(cfg.apis)]
        duration = rng.uniform(cfg.min_duration, cfg.max_duration)
        queue = rng.uniform(0.0, min(cfg.max_queue, duration / 4))
        failed = cfg.driver == "vidjobs" and rng.random() < cfg.fail_fraction
        specs.append(
            {
                "index": i,
                "api": api,
                "offset": cfg.arrival_s * i / cfg.n,
                "queue": queue,
                "timeline": {
                    "running_s": duration - queue,
                    "progress_noise": cfg.noise,
                    "outcome": "failed" if failed else "completed",
                },
                "expect": "failed" if failed else "succeeded",
            }
        )
    return specs


def run(cfg: WaitsConfig) -> dict[str, Any]:
    """One run; returns the measured figures (see the module docstring)."""
    apis = cfg.apis if cfg.driver == "vidjobs" else ("tensorpix",)
    cfg = WaitsConfig(**{**cfg.__dict__, "apis": apis})
    with simulator(seed=cfg.seed, keep_alive_timeout_s=15.0) as sim:
        env = dict(sim.airflow_connections())
        env[f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}"] = json.dumps(
            {"conn_type": "http", "host": sim.url, "extra": {"Authorization": f"Token {sim.tensorpix_key}"}}
        )
        specs = plan(cfg)
        with tempfile.TemporaryDirectory() as tmp:
            spec_path = os.path.join(tmp, "spec.json")
            cmd = [python(), str(BENCH / "trigger_runner.py"), "--classpath", CLASSPATHS[cfg.driver]]
            for conn_id in [f"{api}_default" for api in cfg.apis] if cfg.driver == "vidjobs" else [HTTP_CONN_ID]:
                cmd += ["--conn-id", conn_id]
            if not cfg.greenback:
                cmd.append("--no-greenback")
            if cfg.profile:
                cmd += ["--profile", cfg.profile]
            cmd += ["--log-level", cfg.log_level]
            trigger_item(cfg, {"api": cfg.apis[0], "offset": 0, "view": {"id": "warm-up", "video_id": "x"}})  # imports
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=bench_env(env))
            assert proc.stdin is not None
            assert proc.stdout is not None
            ready = proc.stdout.readline().strip()
            if ready != "ready":
                proc.kill()
                raise RuntimeError(f"trigger runner did not start: {ready!r}")
            # Jobs next (their triggers must find them), planned to start queuing at t0 + offset.
            margin = 2.0 + cfg.n / 700
            t0_planned = time.time() + margin
            for spec in specs:
                spec["start_at"] = t0_planned + spec["offset"]
            setup_started = time.time()
            jobs = create_jobs(sim, specs)
            setup_s = time.time() - setup_started
            with open(spec_path, "w") as f:
                json.dump({"triggers": [trigger_item(cfg, job) for job in jobs]}, f)
            if cfg.latency_s:
                sim.control.add_faults({"kind": "latency", "delay_s": cfg.latency_s})
            sim.control.reset_stats()
            t0 = max(t0_planned, time.time() + 0.5)
            load = MachineLoad(proc.pid, sim.process.pid if sim.process else proc.pid)
            sim_cpu0 = _pid_cpu(sim)
            proc.stdin.write(f"go {t0} {spec_path}\n")
            proc.stdin.flush()
            spy = _py_spy(cfg, proc.pid, t0) if cfg.py_spy else None
            out, _ = proc.communicate(timeout=cfg.arrival_s + cfg.max_duration * 3 + 600)
            if spy is not None:
                spy.wait(60)
            others = load.others_cores()
            sim_cpu = _pid_cpu(sim) - sim_cpu0
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"trigger runner failed ({proc.returncode})")
            result = json.loads(lines[-1])
        stats = sim.control.stats()
    return summarize(cfg, jobs, result, stats, others=others, sim_cpu=sim_cpu, setup_s=setup_s, late=t0 - t0_planned)


def _py_spy(cfg: WaitsConfig, pid: int, t0: float) -> subprocess.Popen[bytes]:
    """Sample the trigger process with py-spy (by default 60 s of its steady state, after the arrivals)."""
    import shutil

    exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    start = cfg.arrival_s + 10 if cfg.py_spy_at is None else cfg.py_spy_at
    delay = max(0.0, t0 + start - time.time())
    cmd = f"sleep {delay:.1f}; exec {exe} record --nonblocking --rate 200 --format raw --duration {cfg.py_spy_s:g} "
    cmd += f"--pid {pid} --output {cfg.py_spy}"
    return subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _pid_cpu(sim: Any) -> float:
    from _common import pid_cpu_seconds

    return pid_cpu_seconds(sim.process.pid) if sim.process is not None else 0.0


def summarize(
    cfg: WaitsConfig,
    jobs: list[dict[str, Any]],
    result: dict[str, Any],
    stats: dict[str, Any],
    *,
    others: float,
    sim_cpu: float,
    setup_s: float,
    late: float,
) -> dict[str, Any]:
    events = result["events"]
    lags, wrong, missing = [], [], []
    for job in jobs:
        key = job["view"]["id"]
        event = events.get(key)
        if event is None:
            missing.append(key)
            continue
        when, outcome, message = event
        if outcome != job["expect"]:
            wrong.append(f"{key}: {outcome} ({message})"[:200])
            continue
        lags.append(when - completion_time(job["view"]))
    per_job = stats["jobs"]
    polls = sum(per_job.get(job["view"]["id"], {}).get("requests", 0) for job in jobs)
    # the peer polls the video id's endpoint: the simulator files those requests under the job too
    return {
        "driver": cfg.driver,
        "n": cfg.n,
        "apis": list(cfg.apis),
        "poll_s": cfg.poll_s,
        "durations_s": [cfg.min_duration, cfg.max_duration],
        "arrival_s": cfg.arrival_s,
        "latency_s": cfg.latency_s,
        "greenback": cfg.greenback,
        "correct": len(jobs) - len(wrong) - len(missing),
        "wrong": wrong[:5],
        "missing": len(missing),
        "runner_failures": list(result["failures"].values())[:5],
        "polls": polls,
        "polls_per_job": polls / max(1, len(jobs)),
        "cpu_s": result["cpu_s"],
        "cpu_per_poll_ms": 1000 * result["cpu_s"] / max(1, polls),
        "wall_s": result["wall_s"],
        "lag_p50_s": percentile(lags, 50),
        "lag_p95_s": percentile(lags, 95),
        "lag_max_s": max(lags) if lags else None,
        "loop_lag_p50_ms": 1000 * result["lag_p50"],
        "loop_lag_p99_ms": 1000 * result["lag_p99"],
        "loop_lag_max_ms": 1000 * (result["lag_max"] or 0),
        "loop_self_lag_p99_ms": 1000 * result["self_lag_p99"],
        "gc_full_collections": result["gc_full_count"],
        "gc_full_max_ms": 1000 * result["gc_full_max"],
        "gc_total_s": result["gc_total"],
        "rss_growth_mb": (result["rss_peak"] - result["rss_base"]) / 2**20,
        "rss_base_mb": result["rss_base"] / 2**20,
        "tcp_connections": stats["connections"]["api_accepted"],
        "simulator_cpu_s": sim_cpu,
        "others_cores": others,
        "setup_s": setup_s,
        "steady_cpu_per_poll_ms": steady_cpu_per_poll(result.get("timeline", []), cfg),
        "timeline": result.get("timeline", []),
        "start_late_s": late,
    }


def steady_cpu_per_poll(timeline: list[list[float]], cfg: WaitsConfig) -> float | None:
    """CPU per poll while every trigger is waiting: from the end of the arrivals to the first event
    (10 s after it, and before it, so creation and completion work are left out)."""
    start = cfg.arrival_s + cfg.poll_s
    rows = [r for r in timeline if r[0] >= start and r[3] == 0]
    if len(rows) < 2 or rows[-1][2] <= rows[0][2]:
        return None
    return 1000 * (rows[-1][1] - rows[0][1]) / (rows[-1][2] - rows[0][2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--driver", choices=["vidjobs", "http_sensor"], default="vidjobs")
    parser.add_argument("--apis", default="tensorpix,aihubmix")
    parser.add_argument("--min-duration", type=float, default=60.0)
    parser.add_argument("--max-duration", type=float, default=180.0)
    parser.add_argument("--poll-s", type=float, default=10.0)
    parser.add_argument("--arrival-s", type=float, default=30.0)
    parser.add_argument("--fail-fraction", type=float, default=0.05)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="server-side delay added to every API answer")
    parser.add_argument("--no-greenback", action="store_true")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--profile", help="cProfile the trigger process into this file")
    parser.add_argument("--log-level", default="INFO", help="the trigger process's root log level")
    parser.add_argument("--py-spy", help="record the trigger process with py-spy (raw format) to this file")
    parser.add_argument("--py-spy-at", type=float, help="seconds after the start (default: 10 s after the arrivals)")
    parser.add_argument("--py-spy-s", type=float, default=60.0, help="seconds to record")
    args = parser.parse_args()
    cfg = WaitsConfig(
        n=args.n,
        driver=args.driver,
        apis=tuple(args.apis.split(",")),
        min_duration=args.min_duration,
        max_duration=args.max_duration,
        max_queue=min(10.0, args.min_duration / 4),
        poll_s=args.poll_s,
        arrival_s=args.arrival_s,
        fail_fraction=args.fail_fraction,
        latency_s=args.latency_ms / 1000,
        greenback=not args.no_greenback,
        seed=args.seed,
        profile=args.profile,
        log_level=args.log_level,
        py_spy=args.py_spy,
        py_spy_at=args.py_spy_at,
        py_spy_s=args.py_spy_s,
    )
    print(json.dumps(run(cfg)), flush=True)


if __name__ == "__main__":
    main()
