"""Every operator through dag.test() (dagfiles/vidjobs_operators.py): GetVideoJobOperator for both APIs,
AIHubMixCreateVideoOperator with and without waiting (deferrable and not) and with an image given as a
file, a URL and bytes, and DownloadVideoOperator to a local folder and to ``memory://``, with thumbnails.

XComs are read from the metadata DB and compared with the simulator's own view of each job; what the
simulator received on create is recorded by wrapping its job factory in this process.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle, synthetic_video_sha256
from airflow_provider_vidjobs.testing.simulator.apis import aihubmix as aihubmix_api

pytestmark = pytest.mark.dagtest

MIB = 1024 * 1024
TP_VIDEO_SIZE = 3 * MIB + 123
IMAGE = b"\x89PNG\r\n\x1a\n" + b"reference image" * 20
CREATE_TASKS = ("create", "create_bytes", "create_file_wait", "create_url_defer", "create_end_defer")


@dataclass
class OperatorRun:
    result: Any  # conftest.DagRunResult
    conf: dict[str, Any]
    stats: dict[str, Any]
    #: job id -> the simulator's control view of it, after the run
    views: dict[str, dict[str, Any]]
    #: job id -> what the simulator stored of the create request's input_reference
    references: dict[str, Any]
    #: (job id, variant) -> sha256 of the bytes the simulator serves for it
    served: dict[tuple[str, str], str]


def served_sha256(sim: SimulatorHandle, view: dict[str, Any], variant: str) -> str:
    """sha256 of an asset exactly as the simulator serves it, fetched without the provider's code."""
    with httpx.Client(trust_env=False, timeout=30) as client:
        if view["api"] == "tensorpix":
            field = "file" if variant == "video" else "thumbnail"
            response = client.get(view["vendor"]["generated_video"][field])
        else:
            response = client.get(
                sim.url + view["paths"]["content"],
                params={"variant": variant},
                headers={"Authorization": f"Bearer {sim.aihubmix_key}"},
            )
    response.raise_for_status()
    return hashlib.sha256(response.content).hexdigest()


@pytest.fixture(scope="module")
def run(
    dag_runner: Callable[..., Any],
    vidjobs_simulator_session: SimulatorHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorRun]:
    sim = vidjobs_simulator_session
    sim.reset()
    folder = tmp_path_factory.mktemp("operators")
    image = folder / "reference.png"
    image.write_bytes(IMAGE)
    conf = {
        "tp_job": sim.control.create_job(
            "tensorpix", sim={"queued_s": 0, "running_s": 0, "asset_size_bytes": TP_VIDEO_SIZE}
        )["id"],
        "ah_failed_job": sim.control.create_job(
            "aihubmix", id_style="slashy", sim={"queued_s": 0, "running_s": 0, "outcome": "failed"}
        )["id"],
        "prompt": "a red fox crossing a snowy road at dawn",
        "image_path": str(image),
        "image_url": "https://images.example.com/reference.png",
        "out_dir": str(folder / "videos"),
        "memory_dir": f"memory://vidjobs-dagtest-{uuid.uuid4().hex}",
    }
    references: dict[str, Any] = {}
    real_new_job = aihubmix_api.new_job

    def recording_new_job(*args: Any, **kwargs: Any) -> Any:
        job = real_new_job(*args, **kwargs)
        references[job.id] = job.input_reference
        return job

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aihubmix_api, "new_job", recording_new_job)
        result = dag_runner("vidjobs_operators", conf)

    stats = sim.control.stats()
    ids = {conf["tp_job"], conf["ah_failed_job"]}
    ids |= {result.xcom(task_id, "job_id") for task_id in CREATE_TASKS if (task_id, "job_id") in result.xcoms}
    views = {job_id: sim.control.job(job_id) for job_id in ids}
    served = {}
    for job_id, view in views.items():
        if view["phase"] == "completed":
            for variant in ("video", "thumbnail"):
                served[(job_id, variant)] = served_sha256(sim, view, variant)
    yield OperatorRun(result, conf, stats, views, references, served)
    memory = fsspec.filesystem("memory")
    if memory.exists(conf["memory_dir"]):
        memory.rm(conf["memory_dir"], recursive=True)


def test_every_task_succeeds(run: OperatorRun) -> None:
    assert run.result.failures == {}
    assert run.result.state == "success"
    assert set(run.result.states.values()) == {"success"}


@pytest.mark.parametrize("conf_key", ["tp_job", "ah_failed_job"])
def test_get_video_job_pushes_the_job_as_the_simulator_sees_it(
    run: OperatorRun, matches_simulator: Callable[..., None], conf_key: str
) -> None:
    task_id = "get_tp" if conf_key == "tp_job" else "get_ah"
    view = run.views[run.conf[conf_key]]
    xcom = run.result.xcom(task_id)
    matches_simulator(xcom, view)
    if conf_key == "ah_failed_job":  # whatever the status: a failed job is read, not raised
        assert xcom["status"] == "failed"
        assert xcom["error"] == view["vendor"]["error"]


@pytest.mark.parametrize("task_id", CREATE_TASKS)
def test_create_pushes_the_job_id_at_once_and_the_job_as_the_simulator_sees_it(
    run: OperatorRun, matches_simulator: Callable[..., None], task_id: str
) -> None:
    xcom = run.result.xcom(task_id)
    job_id = run.result.xcom(task_id, "job_id")
    assert xcom["job_id"] == job_id
    view = run.views[job_id]
    waited = task_id.endswith("_wait") or task_id.endswith("_defer")
    assert view["phase"] == ("completed" if waited else "queued")
    matches_simulator(xcom, view)


def test_create_sends_the_callers_parameters(run: OperatorRun) -> None:
    view = run.views[run.result.xcom("create", "job_id")]["vendor"]
    assert view["prompt"] == run.conf["prompt"]  # templated from dag_run.conf
    assert (view["model"], view["size"], view["seconds"], view["quality"]) == ("sora-2-pro", "1280x720", "8", "high")


def test_create_sends_the_input_reference_as_file_url_or_bytes(run: OperatorRun) -> None:
    def sent(task_id: str) -> Any:
        return run.references[run.result.xcom(task_id, "job_id")]

    assert sent("create") is None
    assert sent("create_file_wait") == {"filename": "reference.png", "content_type": "image/png", "bytes": len(IMAGE)}
    assert sent("create_url_defer") == {"image_url": run.conf["image_url"]}
    png_bytes = run.result.module.PNG_BYTES
    assert sent("create_bytes") == {"filename": "input", "content_type": "image/png", "bytes": len(png_bytes)}


def test_create_waits_in_the_worker_or_in_the_trigger(run: OperatorRun) -> None:
    deferred = run.result.triggered_job_ids()
    assert run.result.xcom("create_url_defer", "job_id") in deferred
    assert run.result.xcom("create_end_defer", "job_id") in deferred
    ended_here = [
        kw["end_from_trigger"]
        for kw in run.result.trigger_kwargs
        if kw["job_id"] == run.result.xcom("create_end_defer", "job_id")
    ]
    assert ended_here == [True]
    assert run.result.xcom("create_file_wait", "job_id") not in deferred
    polls = run.stats["jobs"][run.result.xcom("create_file_wait", "job_id")]["endpoints"]
    assert polls["GET /v1/videos/{video_id}"]["requests"] >= 1  # it waited by polling from the task


def test_download_to_a_local_folder_is_byte_identical_with_thumbnail(run: OperatorRun) -> None:
    job_id = run.conf["tp_job"]
    result = run.result.xcom("download_tp")
    path = Path(result["path"])
    assert path.parent == Path(run.conf["out_dir"])
    assert (result["job_id"], result["provider"], result["content_type"]) == (job_id, "tensorpix", "video/mp4")
    assert result["bytes"] == TP_VIDEO_SIZE == path.stat().st_size
    assert result["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == run.served[(job_id, "video")]
    assert result["sha256"] == synthetic_video_sha256(TP_VIDEO_SIZE, job_id)
    thumbnail = result["thumbnail"]
    assert Path(thumbnail["path"]).parent == path.parent
    assert thumbnail["sha256"] == hashlib.sha256(Path(thumbnail["path"]).read_bytes()).hexdigest()
    assert thumbnail["sha256"] == run.served[(job_id, "thumbnail")]
    assert sorted(os.listdir(path.parent)) == sorted([path.name, Path(thumbnail["path"]).name])


def test_download_to_memory_storage_with_thumbnail(run: OperatorRun) -> None:
    job_id = run.result.xcom("create_url_defer", "job_id")
    result = run.result.xcom("download_ah")
    assert result["job_id"] == job_id
    assert result["path"].startswith(run.conf["memory_dir"] + "/")
    for entry, variant in ((result, "video"), (result["thumbnail"], "thumbnail")):
        with fsspec.open(entry["path"], "rb") as handle:
            data = handle.read()
        assert len(data) == entry["bytes"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == run.served[(job_id, variant)]


def test_api_key_never_went_to_storage(run: OperatorRun) -> None:
    storage = run.stats["endpoints"]["GET /_storage/tensorpix/{job_id}/{file}"]
    assert storage["statuses"] == {"200": 2}  # the TensorPix video and its thumbnail
    assert run.stats["storage_auth_leaks"] == 0
