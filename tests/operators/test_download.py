"""DownloadVideoOperator against the simulator's storage and content routes: the bytes, the failure modes,
the key, and the memory a large download takes.

These call ``execute()`` directly (with a minimal context) so each failure can be caught as the exact
exception; the operator's run inside a DAG, with XComs, is in tests/dags/test_operator_dag.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_vidjobs.exceptions import DownloadError
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle, synthetic_video_sha256
from airflow_provider_vidjobs.testing.simulator.apis.aihubmix import EP_CONTENT
from airflow_provider_vidjobs.testing.simulator.apis.tensorpix import EP_JOB, EP_STORAGE

MIB = 1024 * 1024
#: Per API: the route that serves the video bytes.
ASSET_ROUTES = {"tensorpix": EP_STORAGE, "aihubmix": EP_CONTENT}


def done_job(sim: SimulatorHandle, provider: str, **timeline: Any) -> str:
    return str(sim.control.create_job(provider, sim={"queued_s": 0, "running_s": 0, **timeline})["id"])


def download(job_id: str, folder: Path, context: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    operator = DownloadVideoOperator(task_id="download", job=job_id, destination=f"{folder}/", **kwargs)
    result: dict[str, Any] = operator.execute(context)
    return result


def served_sha256(sim: SimulatorHandle, job_id: str) -> str:
    """sha256 of the video as the simulator serves it (fetched with a fresh URL, without our code)."""
    view = sim.control.job(job_id)
    with httpx.Client(trust_env=False, timeout=30) as client:
        if view["api"] == "tensorpix":
            response = client.get(view["vendor"]["generated_video"]["file"])
        else:
            response = client.get(
                sim.url + view["paths"]["content"], headers={"Authorization": f"Bearer {sim.aihubmix_key}"}
            )
    response.raise_for_status()
    return hashlib.sha256(response.content).hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def endpoint_statuses(sim: SimulatorHandle, job_id: str, endpoint: str) -> dict[str, int]:
    counter = sim.control.stats()["jobs"].get(job_id, {}).get("endpoints", {}).get(endpoint, {})
    statuses: dict[str, int] = counter.get("statuses", {})
    return statuses


@pytest.mark.parametrize("provider", ["tensorpix", "aihubmix"])
def test_download_is_byte_identical_to_the_served_asset(
    sim: SimulatorHandle, tmp_path: Path, context: dict[str, Any], provider: str
) -> None:
    size = 3 * MIB + 123  # several chunks, not a multiple of the chunk size
    job_id = done_job(sim, provider, asset_size_bytes=size)

    result = download(job_id, tmp_path, context, conn_id=f"{provider}_default")

    assert result["bytes"] == size == Path(result["path"]).stat().st_size
    assert result["sha256"] == file_sha256(result["path"]) == served_sha256(sim, job_id)
    assert result["sha256"] == synthetic_video_sha256(size, job_id)
    assert os.listdir(tmp_path) == [Path(result["path"]).name]  # no temporary file left beside it
    assert sim.control.stats()["storage_auth_leaks"] == 0


def test_expired_url_is_fetched_again_and_the_download_succeeds(
    sim: SimulatorHandle, tmp_path: Path, context: dict[str, Any]
) -> None:
    ttl = 2.0
    job_id = done_job(sim, "tensorpix", url_ttl_s=ttl)
    # The first storage request is held until its pre-signed URL has expired.
    sim.control.add_job_faults(job_id, {"kind": "latency", "endpoint": EP_STORAGE, "delay_s": ttl + 0.5, "count": 1})

    result = download(job_id, tmp_path, context, conn_id="tensorpix_default")

    assert endpoint_statuses(sim, job_id, EP_STORAGE) == {"200": 1, "403": 1}
    assert endpoint_statuses(sim, job_id, EP_JOB) == {"200": 2}  # a fresh URL was asked for
    assert result["sha256"] == file_sha256(result["path"]) == served_sha256(sim, job_id)
    assert sim.control.stats()["storage_auth_leaks"] == 0


@pytest.mark.parametrize("provider", ["tensorpix", "aihubmix"])
def test_cut_short_download_raises_and_leaves_no_file(
    sim: SimulatorHandle, tmp_path: Path, context: dict[str, Any], provider: str
) -> None:
    job_id = done_job(sim, provider, asset_size_bytes=2 * MIB)
    sim.control.add_job_faults(job_id, {"kind": "reset", "endpoint": ASSET_ROUTES[provider], "reset_after_bytes": MIB})

    with pytest.raises(DownloadError, match="cut short") as caught:
        download(job_id, tmp_path, context, conn_id=f"{provider}_default")

    assert caught.value.job_id == job_id
    assert sim.control.stats()["faults_fired"] == {"reset": 1}
    assert os.listdir(tmp_path) == []  # neither the final name nor a temporary file


def test_size_differing_from_the_api_raises_a_clear_error(
    sim: SimulatorHandle, tmp_path: Path, context: dict[str, Any]
) -> None:
    job_id = done_job(sim, "tensorpix")
    video = sim.control.job(job_id)["vendor"]["generated_video"]
    claimed = video["size"] + 1000
    sim.control.add_job_faults(
        job_id, {"kind": "drift", "endpoint": EP_JOB, "extra": {"generated_video": {**video, "size": claimed}}}
    )

    with pytest.raises(DownloadError) as caught:
        download(job_id, tmp_path, context, conn_id="tensorpix_default")

    message = str(caught.value)
    assert f"says the video is {claimed} bytes" in message
    assert f"storage sends {video['size']}" in message
    assert os.listdir(tmp_path) == []


def test_api_key_is_never_sent_to_storage(sim: SimulatorHandle, tmp_path: Path, context: dict[str, Any]) -> None:
    job_id = done_job(sim, "tensorpix")

    result = download(job_id, tmp_path, context, conn_id="tensorpix_default", include_thumbnail=True)

    stats = sim.control.stats()
    assert stats["endpoints"][EP_STORAGE]["statuses"] == {"200": 2}  # the video and its thumbnail
    assert stats["storage_auth_leaks"] == 0
    assert result["thumbnail"]["sha256"] == file_sha256(result["thumbnail"]["path"])


LARGE_DOWNLOAD = textwrap.dedent(
    """
    import json, resource, sys
    from airflow_provider_vidjobs.operators.download import DownloadVideoOperator

    small_job, large_job, folder = sys.argv[1:4]

    class TI:
        def xcom_push(self, key, value):
            pass

    def download(job_id):
        operator = DownloadVideoOperator(
            task_id="download", job=job_id, destination=folder + "/", conn_id="tensorpix_default"
        )
        return operator.execute({"ti": TI(), "outlet_events": {}})

    download(small_job)  # everything imported and built once, so the peak below is the download's own
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = download(large_job)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("RESULT " + json.dumps({"before_kib": before, "after_kib": after, "result": result}))
    """
)


def test_200_mb_download_runs_in_constant_memory(sim: SimulatorHandle, tmp_path: Path) -> None:
    """Measured in a child process, whose peak RSS is its own (``ru_maxrss`` is KiB on Linux)."""
    size, limit_kib = 200 * 1000 * 1000, 64 * 1024
    small_job = done_job(sim, "tensorpix")
    large_job = done_job(sim, "tensorpix", asset_size_bytes=size)

    child = subprocess.run(
        [sys.executable, "-c", LARGE_DOWNLOAD, small_job, large_job, str(tmp_path)],
        env={**os.environ, **sim.airflow_connections()},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert child.returncode == 0, child.stderr[-3000:]
    line = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")][-1]
    report = json.loads(line.removeprefix("RESULT "))
    path = Path(report["result"]["path"])
    try:
        assert report["result"]["bytes"] == size == path.stat().st_size
        assert report["result"]["sha256"] == synthetic_video_sha256(size, large_job)
        assert report["after_kib"] - report["before_kib"] < limit_kib, report
    finally:
        path.unlink(missing_ok=True)


def test_an_encoded_body_is_decoded_and_a_plain_one_passed_as_read() -> None:
    import gzip

    from airflow_provider_vidjobs.hooks.assets import AssetSource, body_chunks

    payload = bytes(range(256)) * 4096
    encoded = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(gzip.compress(payload)))
    plain = httpx.Response(200, stream=httpx.ByteStream(payload))

    source = AssetSource(url="https://storage.example/v.mp4", send_key=False)
    assert b"".join(body_chunks(encoded, source, "tensorpix")) == payload
    assert b"".join(body_chunks(plain, source, "tensorpix")) == payload
