"""Issue #13: what a wait costs in a real deployment, five ways, in one run.

Starts the e2e deployment (PostgreSQL, api-server, scheduler, dag-processor, triggerer, LocalExecutor;
``tests/e2e/vidjobs_e2e``) and runs the same N waits (DAGs in ``deployment_dags/``) one way after the
other. Sensor waits: today's deferrable path (``worker``), ``end_from_trigger`` (``end``), and
``start_from_trigger`` + ``end_from_trigger`` (``start``). Create-and-wait
(``AIHubMixCreateVideoOperator(wait_for_completion=True)``): today's deferrable path (``create_worker``) and
``end_from_trigger`` (``create_end``). Each wait's job is stuck in the simulator (created there for a
sensor, by the task's POST for a create); once every wait of the way is deferred, each job is given
20-60 s more (the same draw for every way), and the run goes to its end.

Per way it reports, from sources outside our code:
- worker task-process starts per wait: the scheduler's "Received executor event ... for task instance"
  lines (one per workload the LocalExecutor ran) for the waiting tasks' ids;
- worker CPU seconds per wait: CPU of the LocalExecutor's worker processes and every task process they
  ran (reaped children), over the way, divided by N (includes each wait's downstream task, the same in
  every way: the difference between ways is the sensor's own worker cost);
- triggerer CPU per wait: the triggerer's process group, over the way;
- job done -> downstream task start, p50/p95: the simulator's end of each job against the downstream
  task's ``start_date`` from the REST API.

    VIDJOBS_E2E_ARTIFACTS=/tmp/bench-logs python benchmarks/deployment_waits.py --waits 100
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))

from vidjobs_e2e.stack import E2EStack  # noqa: E402

WAYS = ("worker", "end", "start", "create_worker", "create_end")
CLK_TCK = os.sysconf("SC_CLK_TCK")
_EVENT = re.compile(
    r"Received executor event with state (\w+) for task instance TaskInstanceKey\(dag_id='([^']+)', task_id='([^']+)'"
)


def _proc_cpu(pid: int, *, children: bool) -> float:
    """utime + stime (+ reaped children's) of one process, in seconds; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def executor_worker_cpu() -> float:
    """CPU of every LocalExecutor worker process and the task processes it ran and reaped."""
    return sum(_proc_cpu(pid, children=True) for pid in _pids() if "LocalExecutor" in _cmdline(pid))


def group_cpu(leader: int) -> float:
    """CPU of a process group (its live members and their reaped children)."""
    return sum(_proc_cpu(pid, children=True) for pid in _pids() if _pgid(pid) == leader)


def worker_starts(stack: E2EStack, dag_id: str) -> int:
    """Workloads the executor ran for the sensors (``wait_*``) of ``dag_id``, from the scheduler's log."""
    count = 0
    for proc in stack.registry.procs:
        if proc.name.startswith("scheduler") and proc.log_path.exists():
            for match in _EVENT.finditer(proc.log_path.read_text(errors="replace")):
                if match.group(2) == dag_id and match.group(3).startswith("wait_"):
                    count += 1
    return count


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_way(stack: E2EStack, way: str, durations: list[float]) -> dict[str, Any]:
    assert stack.sim is not None
    assert stack.rest is not None
    control, rest = stack.sim.control, stack.rest
    dag_id = f"bench_waits_{way}"
    n = len(durations)
    prompts = [f"bench {way} {i} ({time.time():.0f})" for i in range(n)]
    creates = way.startswith("create")
    if not creates:
        stuck = {"outcome": "stuck_queued"}
        jobs = [control.create_job("tensorpix", prompt=prompt, sim=stuck) for prompt in prompts]
    [triggerer] = stack.live_triggerers()
    cpu_workers, cpu_triggerer = executor_worker_cpu(), group_cpu(triggerer.pid)
    started = time.monotonic()
    conf = {"prompts": prompts} if creates else {"jobs": [job["id"] for job in jobs]}
    run_id = rest.trigger(dag_id, conf)
    deadline = time.monotonic() + 1800
    while rest.state_counts(dag_id, run_id).get("deferred", 0) < n:  # every wait deferred to the triggerer
        stack.check()
        assert time.monotonic() < deadline, f"{way}: not all {n} waits deferred"
        time.sleep(2)
    ramp = time.monotonic() - started
    if creates:  # the jobs the tasks created, in task order (exactly one per prompt: none paid twice)
        by_prompt: dict[str, list[dict[str, Any]]] = {}
        for job in control.jobs(api="aihubmix"):
            by_prompt.setdefault(str(job["vendor"].get("prompt")), []).append(job)
        assert all(len(by_prompt.get(prompt, [])) == 1 for prompt in prompts), f"{way}: not one job per prompt"
        jobs = [by_prompt[prompt][0] for prompt in prompts]
    ends: dict[str, float] = {}
    for job, seconds in zip(jobs, durations, strict=True):
        view = control.job(job["id"])
        queued = control.now() - view["created_at"]
        control.update_job(job["id"], outcome="completed", queued_s=queued, running_s=seconds)
        ends[job["id"]] = view["created_at"] + queued + seconds
    state = rest.wait_run(dag_id, run_id, timeout=1800, check=stack.check)
    time.sleep(3)  # the last task processes are reaped by their workers
    tis = {str(ti["task_id"]): ti for ti in rest.task_instances(dag_id, run_id)}
    lags = []
    for i, job in enumerate(jobs):
        after = tis[f"after_{i}"]
        assert tis[f"wait_{i}"]["state"] == "success", (way, i)
        assert after["state"] == "success", (way, i)
        assert rest.xcom(dag_id, run_id, f"wait_{i}")["job_id"] == job["id"]
        lags.append(_ts(after["start_date"]) - ends[job["id"]])
    return {
        "way": way,
        "waits": n,
        "state": state,
        "ramp_s": ramp,
        "worker_starts_per_wait": worker_starts(stack, dag_id) / n,
        "worker_cpu_s_per_wait": (executor_worker_cpu() - cpu_workers) / n,
        "triggerer_cpu_s_per_wait": (group_cpu(triggerer.pid) - cpu_triggerer) / n,
        "lag_p50_s": statistics.median(lags),
        "lag_p95_s": _percentile(lags, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    durations = [rng.uniform(20, 60) for _ in range(args.waits)]
    os.environ["VIDJOBS_BENCH_WAITS"] = str(args.waits)
    stack = E2EStack(dags_dir=HERE / "deployment_dags")
    results = []
    try:
        stack.start()
        assert stack.rest is not None
        dag_ids = [f"bench_waits_{way}" for way in WAYS]
        stack.rest.wait_for_dags(dag_ids, check=stack.check)
        for dag_id in dag_ids:
            stack.rest.unpause(dag_id)
        for way in WAYS:
            result = run_way(stack, way, durations)
            print(json.dumps(result), flush=True)
            results.append(result)
    finally:
        stack.close()
    print(
        f"\n{'way':<14} {'worker starts/wait':>19} {'worker CPU s/wait':>18} {'triggerer CPU s/wait':>21} "
        f"{'lag p50 s':>10} {'lag p95 s':>10}"
    )
    for r in results:
        print(
            f"{r['way']:<14} {r['worker_starts_per_wait']:>19.2f} {r['worker_cpu_s_per_wait']:>18.2f} "
            f"{r['triggerer_cpu_s_per_wait']:>21.3f} {r['lag_p50_s']:>10.2f} {r['lag_p95_s']:>10.2f}"
        )


if __name__ == "__main__":
    main()
