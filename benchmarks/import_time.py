"""What the provider adds to DAG parsing (target 5): import time, and no network or connection lookup.

Import time: fresh interpreters (bytecode compiled once beforehand and cached outside the tree, as an
installed package has it) that import ``airflow.sdk`` and the names a DAG file takes from it
(``DAG``, ``task``, ``Param``), then time importing the provider modules a DAG file imports
(``sensors.video_job`` and ``operators.*``). Median of ``--repeat`` runs; ``-X importtime`` names the
heaviest modules those imports pull in.

DAG parse: a DAG file using the sensor and every operator (templated ids, all options) is executed
with sockets, DNS and every connection lookup (``BaseHook.get_connection``, ``Connection.get`` and
their async forms) replaced by tripwires that record the call and raise.

    python benchmarks/import_time.py --repeat 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import bench_env, python

BASELINE = "import airflow.sdk\nfrom airflow.sdk import DAG, Param, task\n"
PROVIDER_MODULES = (
    "airflow_provider_vidjobs.sensors.video_job",
    "airflow_provider_vidjobs.operators.video_job",
    "airflow_provider_vidjobs.operators.download",
    "airflow_provider_vidjobs.operators.aihubmix",
)

TIMED = BASELINE + textwrap.dedent(
    """
    import importlib, json, time
    started = time.perf_counter()
    for name in {modules!r}:
        importlib.import_module(name)
    print(json.dumps({{"seconds": time.perf_counter() - started}}))
    """
)

DAG_FILE = textwrap.dedent(
    """
    from airflow.sdk import DAG, Param, task
    from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
    from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
    from airflow_provider_vidjobs.operators.video_job import GetVideoJobOperator
    from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

    with DAG(dag_id="vidjobs_parse_check", schedule=None, params={"job_id": Param("x", type="string")}) as dag:
        create = AIHubMixCreateVideoOperator(
            task_id="create", prompt="{{ params.job_id }}", wait_for_completion=True, deferrable=True
        )
        wait = VideoJobSensor(
            task_id="wait", conn_id="tensorpix_default", job_id="{{ params.job_id }}", deferrable=True
        )
        wait_guess = VideoJobSensor(task_id="wait_guess", provider="aihubmix", job_id="{{ params.job_id }}")
        get = GetVideoJobOperator(task_id="get", conn_id="tensorpix_default", job_id="{{ params.job_id }}")
        download = DownloadVideoOperator(
            task_id="download", job=create.output, destination="/tmp/{job_id}/", include_thumbnail=True
        )
        create >> wait >> get >> download
    """
)

GUARDED = textwrap.dedent(
    """
    import asyncio, json, runpy, socket, sys
    calls = []

    def tripwire(name):
        def fail(*args, **kwargs):
            calls.append(name)
            raise RuntimeError(f"{name} during DAG parsing")
        return fail

    async def atripwire(*args, **kwargs):
        calls.append("async connection lookup")
        raise RuntimeError("async connection lookup during DAG parsing")

    socket.socket.connect = tripwire("socket.connect")
    socket.socket.connect_ex = tripwire("socket.connect_ex")
    socket.create_connection = tripwire("socket.create_connection")
    socket.getaddrinfo = tripwire("socket.getaddrinfo")
    from airflow.sdk import BaseHook, Connection
    BaseHook.get_connection = classmethod(tripwire("BaseHook.get_connection"))
    Connection.get = classmethod(tripwire("Connection.get"))
    for name in ("aget_connection",):
        if hasattr(BaseHook, name):
            setattr(BaseHook, name, classmethod(atripwire))
    if hasattr(Connection, "async_get"):
        Connection.async_get = classmethod(atripwire)
    error = None
    try:
        namespace = runpy.run_path(sys.argv[1])
        dags = [v for v in namespace.values() if type(v).__name__ == "DAG"]
        tasks = sum(len(d.tasks) for d in dags)
    except Exception as exc:
        error, tasks = f"{type(exc).__name__}: {exc}", 0
    print(json.dumps({"calls": calls, "tasks": tasks, "error": error}))
    """
)


def _run(code: str, *args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [python(), *(["-X", "importtime"] if importtime else []), "-c", code, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=bench_env(), check=False, timeout=300)


def _importtime(stderr: str) -> dict[str, float]:
    """Module -> self import time (ms) from ``-X importtime`` output."""
    out = {}
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
            if self_us.isdigit():
                out[name] = int(self_us) / 1000
    return out


def heaviest(baseline: str, full: str, top: int = 8) -> tuple[int, list[tuple[str, float]]]:
    """(how many modules, the heaviest by self time) of those only the provider's imports load."""
    before = _importtime(baseline)
    ours = {name: ms for name, ms in _importtime(full).items() if name not in before}
    return len(ours), sorted(ours.items(), key=lambda item: -item[1])[:top]


def run(repeat: int) -> dict[str, Any]:
    timed = TIMED.format(modules=PROVIDER_MODULES)
    _run(timed)  # compile and cache the bytecode once
    samples = []
    for _ in range(repeat):
        proc = _run(timed)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        samples.append(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])
    modules, heavy = heaviest(_run(BASELINE, importtime=True).stderr, _run(timed, importtime=True).stderr)
    with tempfile.TemporaryDirectory() as tmp:
        dag_path = os.path.join(tmp, "vidjobs_parse_check.py")
        with open(dag_path, "w") as f:
            f.write(DAG_FILE)
        guarded = _run(GUARDED, dag_path)
        if guarded.returncode != 0:
            raise RuntimeError(guarded.stderr[-2000:])
        parse = json.loads(guarded.stdout.strip().splitlines()[-1])
    return {
        "import_ms_median": 1000 * statistics.median(samples),
        "import_ms_all": [round(1000 * s, 1) for s in samples],
        "modules_loaded": modules,
        "heaviest_ms": heavy,
        "parse_calls": parse["calls"],
        "parse_tasks": parse["tasks"],
        "parse_error": parse["error"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.repeat)), flush=True)


if __name__ == "__main__":
    main()
