"""Pieces every benchmark shares: the simulator on its own core, CPU and memory accounting, loop lag,
percentiles, and the result rows that ``run_all.py`` prints.

The machine has two cores: the simulator is pinned to core 0 and the measured process to core 1, so
the two never compete. Other processes on the machine (test suites, an Airflow deployment) do; every
benchmark reports how busy the rest of the machine was during its run ("others"), from /proc/stat.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
SERVER_CPU = 0
CLIENT_CPU = 1
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One line of the results table."""

    figure: str
    target: str
    measured: str
    passed: bool | None  # None: informational, no target
    detail: str = ""
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(cpu: int | None) -> None:
    """Run this process on one core (when the machine has it)."""
    if cpu is not None and cpu in cpus() and len(cpus()) > 1:
        os.sched_setaffinity(0, {cpu})


def process_cpu() -> float:
    """CPU seconds (user + system) this process used so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes() -> int:
    """Resident set size now."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def pid_cpu_seconds(pid: int) -> float:
    """CPU seconds of another process (user + system, children not included)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine spent busy (every core), from /proc/stat."""
    with open("/proc/stat", "rb") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK


class MachineLoad:
    """How much CPU the rest of the machine took while we measured (other engineers' test runs...)."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.start = time.monotonic()
        self.busy0 = machine_busy_seconds()
        self.ours0 = sum(pid_cpu_seconds(p) for p in pids)

    def others_cores(self) -> float:
        """Average number of cores busy with processes other than ``pids``."""
        elapsed = max(time.monotonic() - self.start, 1e-6)
        busy = machine_busy_seconds() - self.busy0
        ours = sum(pid_cpu_seconds(p) for p in self.pids) - self.ours0
        return max(0.0, (busy - ours) / elapsed)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@contextmanager
def simulator(**config: Any) -> Iterator[Any]:
    """A simulator in a subprocess pinned to the server core."""
    from airflow_provider_vidjobs.testing.simulator import start_simulator_process

    cpu = SERVER_CPU if len(cpus()) > 1 else None
    with start_simulator_process(cpu=cpu, **config) as sim:
        yield sim


def bench_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a measured subprocess: compiled bytecode cached outside the tree (as an
    installed package has), no Airflow DB or config surprises, unbuffered output."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / "vidjobs-bench-pycache")
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    if extra:
        env.update(extra)
    return env


def run_json(cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run a benchmark child that prints one JSON object as its last stdout line; return it."""
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, env=env or bench_env(), timeout=timeout, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def python() -> str:
    return sys.executable


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.3g} ms"
