"""Streaming a large video to a local file (target 4): memory and throughput against curl.

A finished TensorPix job in the simulator with a 1 GiB video; its pre-signed storage URL is
downloaded

- by ``DownloadVideoOperator``'s own code path (``_download``: fresh URL from the API, the hook's
  ``open_asset`` stream, the operator's atomic writer, sha256 and size checks), in a child process
  whose RSS is sampled every 5 ms; the file is checked against the simulator's sha256;
- by the same work done by standard tools: ``curl -s URL | tee FILE | sha256sum`` (receive, write
  the file, hash it; three processes in a pipeline), from the same simulator, pinned to the same core,
  writing a new file in the same folder, in the same run, once pinned to our core and once free to use
  every core: the faster of the two is the reference of target 4.
- by ``curl -o /dev/null`` (receives only: neither writes nor hashes), for scale.

Runs alternate (pipeline, ours, curl, pipeline, ours, curl, ...), so a slow spell of the disk's write-back
hits both; throughput is the best of each, RSS growth the worst of ours. Every file written is new (an
overwritten file pays for freeing the old one's blocks) and is deleted after its round. Also reported:
hashlib.sha256's own rate on the same core.

    python benchmarks/download.py --size-mib 1024 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import CLIENT_CPU, bench_env, pin, python, rss_bytes, simulator


def child(url_env: str, job_id: str, dest: str, expected_sha: str) -> dict[str, Any]:
    """Runs in the measured process: one download through the operator's code path."""
    os.environ.update(json.loads(url_env))
    from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
    from airflow_provider_vidjobs.waiting import make_hook

    operator = DownloadVideoOperator(task_id="download", job=job_id, destination=dest, provider="tensorpix")
    hook = make_hook("tensorpix", None)
    hook.get_job(job_id)  # connection looked up, client built: not part of the download
    peak = [rss_bytes()]
    base = peak[0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = operator._download(hook, job_id, "video")
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    peak[0] = max(peak[0], rss_bytes())
    ok = result["sha256"] == expected_sha and os.path.getsize(result["path"]) == result["bytes"]
    os.unlink(result["path"])
    return {"bytes": result["bytes"], "seconds": elapsed, "rss_growth": peak[0] - base, "sha_ok": ok}


def curl(url: str) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} %{speed_download}", url],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: pin(CLIENT_CPU),
    )
    elapsed = time.perf_counter() - started
    size, speed = proc.stdout.split()
    return {"bytes": int(size), "seconds": elapsed, "speed": float(speed)}


def pipeline(url: str, dest: str, expected_sha: str, *, pinned: bool) -> dict[str, Any]:
    """``curl -s URL | tee FILE | sha256sum``: the same work as the operator (receive, write, hash), by standard tools.

    ``pinned``: on the client core like ours; else on every core (the three processes then run in
    parallel, beside the simulator): the reference is the best of both, the stricter one.
    """
    started = time.perf_counter()
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", 'curl -sS "$0" | tee "$1" | sha256sum', url, dest],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=(lambda: pin(CLIENT_CPU)) if pinned else None,
    )
    elapsed = time.perf_counter() - started
    size = os.path.getsize(dest)
    ok = proc.stdout.split()[0] == expected_sha
    os.unlink(dest)
    return {"bytes": size, "seconds": elapsed, "sha_ok": ok}


def sha256_rate(mib: int = 256) -> float:
    """Bytes/s of hashlib.sha256 on this core: the ceiling of any download that returns the file's sha256."""
    block = os.urandom(2**20)
    digest = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(mib):
        digest.update(block)
    return mib * 2**20 / (time.perf_counter() - started)


def run(size_mib: int, rounds: int) -> dict[str, Any]:
    from airflow_provider_vidjobs.testing.simulator import synthetic_video_sha256

    if shutil.which("curl") is None:
        raise RuntimeError("curl is not installed")
    size = size_mib * 2**20
    with simulator() as sim, tempfile.TemporaryDirectory(dir=os.environ.get("VIDJOBS_BENCH_TMP")) as tmp:
        job = sim.control.create_job("tensorpix", sim={"queued_s": 0, "running_s": 0, "asset_size_bytes": size})
        expected = synthetic_video_sha256(size, job["id"])
        url = job["vendor"]["generated_video"]["file"]
        env = json.dumps(sim.airflow_connections())
        ours, theirs, same_work = [], [], []
        for n in range(rounds):
            for pinned in (True, False):
                same_work.append(pipeline(url, os.path.join(tmp, f"pipeline-{n}.mp4"), expected, pinned=pinned))
            cmd = [python(), __file__, "--child", env, job["id"], os.path.join(tmp, f"video-{n}.mp4"), expected]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=bench_env(), check=False, timeout=900)
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"download child failed: {proc.stderr[-2000:]}")
            ours.append(json.loads(lines[-1]))
            theirs.append(curl(url))
    best_ours = max(r["bytes"] / r["seconds"] for r in ours)
    best_curl = max(r["bytes"] / r["seconds"] for r in theirs)
    best_pipeline = max(r["bytes"] / r["seconds"] for r in same_work)
    cores = os.sched_getaffinity(0)
    pin(CLIENT_CPU)
    hash_rate = sha256_rate()
    os.sched_setaffinity(0, cores)
    return {
        "size_mib": size_mib,
        "rounds": rounds,
        "ours_mb_s": best_ours / 1e6,
        "pipeline_mb_s": best_pipeline / 1e6,
        "ratio": best_ours / best_pipeline,
        "curl_mb_s": best_curl / 1e6,
        "curl_ratio": best_ours / best_curl,
        "sha256_mb_s": hash_rate / 1e6,
        "sha256_ratio": hash_rate / best_curl,
        "rss_growth_mb": max(r["rss_growth"] for r in ours) / 2**20,
        "sha_ok": all(r["sha_ok"] for r in ours),
        "pipeline_sha_ok": all(r["sha_ok"] for r in same_work),
        "all_ours_mb_s": [round(r["bytes"] / r["seconds"] / 1e6) for r in ours],
        "all_pipeline_mb_s": [round(r["bytes"] / r["seconds"] / 1e6) for r in same_work],
        "all_curl_mb_s": [round(r["bytes"] / r["seconds"] / 1e6) for r in theirs],
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        pin(CLIENT_CPU)
        print(json.dumps(child(*sys.argv[2:6])), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.size_mib, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
