"""Each example DAG runs end to end with dag.test() against the simulator, and its XComs say exactly
what the simulator says about each job; downloaded files are where the XCom says, with its sha256.

Airflow is imported inside the tests (see this directory's conftest).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from airflow_provider_vidjobs.testing.simulator import synthetic_video_sha256

pytestmark = pytest.mark.dagtest

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
DAG_IDS = [
    "aihubmix_generate_and_download",
    "fan_out_prompts",
    "hitl_pick_a_variant",
    "replicate_wait_and_download",
    "tensorpix_wait_for_video",
]

#: Parses example_dags/ in a fresh interpreter with every socket connection and DNS lookup refused.
_PARSE_OFFLINE = r"""
import json, socket, sys

def refuse(*args, **kwargs):
    raise OSError("network access while parsing DAG files")

socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow < 3.2
    from airflow.models.dagbag import DagBag

HEAVY = ("airflow_provider_vidjobs.testing", "openai")
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": bag.import_errors,
    "files": sorted(path.rsplit("/", 1)[-1] for path in bag.file_last_changed),
    "dags": {dag_id: {"doc": bool(dag.doc_md), "params": sorted(dag.params)} for dag_id, dag in bag.dags.items()},
    "heavy": sorted(set(HEAVY) & set(sys.modules)),
}))
"""


def test_dag_files_parse_offline_with_light_imports(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}  # no connections, no DB
    env.update(
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLE_DAGS),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'never-created.db'}",
    )
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_OFFLINE, str(EXAMPLE_DAGS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert sorted(parsed["dags"]) == DAG_IDS
    assert "demo.py" not in parsed["files"]  # .airflowignore keeps the demo script away from Airflow
    assert all(dag["doc"] for dag in parsed["dags"].values())
    assert parsed["dags"]["tensorpix_wait_for_video"]["params"] == ["job_id"]
    assert parsed["dags"]["replicate_wait_and_download"]["params"] == ["output_dir", "prediction_id"]
    assert "extra_params" in parsed["dags"]["aihubmix_generate_and_download"]["params"]
    assert "extra_params" in parsed["dags"]["fan_out_prompts"]["params"]
    assert parsed["heavy"] == []  # no simulator, server or SDK behind the DAG files


def test_tensorpix_wait_for_video(run_example, vidjobs_simulator, finish_after_first_check) -> None:
    control = vidjobs_simulator.control
    job = control.create_job(
        "tensorpix", prompt="A lighthouse in a storm", cost="4.20", sim={"queued_s": 0, "running_s": 3600}
    )

    with finish_after_first_check(job["id"]) as released:
        run = run_example("tensorpix_wait_for_video", {"job_id": job["id"]})

    assert run.state == "success", run.states
    assert released.is_set()
    view = control.job(job["id"])
    assert view["phase"] == "completed"
    final = run.xcom("wait_for_video")
    assert_tensorpix_job_matches(final, view["vendor"])
    # Running at the sensor's first check, so it deferred: the trigger asked again before it ended.
    counters = control.stats()["jobs"][job["id"]]["endpoints"]
    assert counters["GET /api/video-gen/jobs/{id}/"]["requests"] >= 2

    video = view["vendor"]["generated_video"]
    assert run.xcom("summarize") == {
        "provider": "tensorpix",
        "job_id": job["id"],
        "status": "succeeded",
        "duration_seconds": final["video"]["duration_seconds"],
        "resolution": f"{video['width']}x{video['height']}",
        "cost": "4.20",
        "video_file": final["video"]["url"].split("?", 1)[0],  # the signed URL stays in the sensor's XCom
    }


def test_replicate_wait_and_download(run_example, vidjobs_simulator, finish_after_first_check, tmp_path: Path) -> None:
    control = vidjobs_simulator.control
    job = control.create_job("replicate", prompt="A hummingbird", sim={"queued_s": 0, "running_s": 3600})
    folder = tmp_path / "replicate"

    with finish_after_first_check(job["id"]) as released:
        run = run_example("replicate_wait_and_download", {"prediction_id": job["id"], "output_dir": f"{folder}/"})

    assert run.state == "success", run.states
    assert released.is_set()
    final = run.xcom("wait_for_prediction")
    assert (final["provider"], final["job_id"], final["status"]) == ("replicate", job["id"], "succeeded")
    download = run.xcom("download_video")
    data = Path(download["path"]).read_bytes()
    assert Path(download["path"]).parent == folder
    assert download["sha256"] == hashlib.sha256(data).hexdigest() == synthetic_video_sha256(None, job["id"])
    summary = run.xcom("summarize")
    assert (summary["job_id"], summary["status"], summary["sha256"]) == (job["id"], "succeeded", download["sha256"])
    # The task's "Video job" link, as Airflow stored it: Replicate's page for the sensor (deferred, then
    # resumed); the download never read the job's page and has no template, so it stores no link row.
    assert run.xcom("wait_for_prediction", "_link_VideoJobLink") == final["web_url"]
    assert ("download_video", -1, "_link_VideoJobLink") not in run.xcoms
    assert not [key for key in run.xcoms if key[2] == "video_job_url"]


def test_aihubmix_generate_and_download(run_example, vidjobs_simulator, tmp_path: Path) -> None:
    control = vidjobs_simulator.control
    out = tmp_path / "videos"
    conf = {
        "prompt": "A paper boat on a rainy street",
        "model": "sora-2-pro",
        "seconds": "8",
        "size": "1280x720",
        "output_dir": str(out),
        "extra_params": {"sim": {"queued_s": 0.2, "running_s": 2, "asset_size_bytes": 300_000}},
    }

    run = run_example("aihubmix_generate_and_download", conf)

    assert run.state == "success", run.states
    job_id = run.xcom("create_video", key="job_id")
    view = control.job(job_id)
    # The extra_params param reached the API unchanged (the simulator scripted the job from it).
    assert view["timeline"]["running_s"] == 2
    assert view["timeline"]["asset_size_bytes"] == 300_000
    final = run.xcom("wait_for_video")
    assert_aihubmix_job_matches(final, view["vendor"], vidjobs_simulator.url)
    assert final["prompt"] == conf["prompt"]
    assert final["model"] == "sora-2-pro"

    download = run.xcom("download_video")
    assert_downloaded(download, job_id, out, size=300_000)
    assert run.asset_events == [
        {
            "uri": "vidjobs://aihubmix/videos",
            "task_id": "download_video",
            "map_index": -1,
            "provider": "aihubmix",
            "job_id": job_id,
            "path": download["path"],
            "sha256": download["sha256"],
        }
    ]
    assert run.xcom("summarize") == {
        "provider": "aihubmix",
        "job_id": job_id,
        "status": "succeeded",
        "prompt": conf["prompt"],
        "model": "sora-2-pro",
        "duration_seconds": 8.0,
        "resolution": "1280x720",
        "cost": None,
        "path": download["path"],
        "bytes": 300_000,
        "sha256": download["sha256"],
    }


def test_fan_out_prompts(run_example, vidjobs_simulator, tmp_path: Path) -> None:
    control = vidjobs_simulator.control
    out = tmp_path / "videos"
    prompts = ["A red kite over dunes", "Rain on a tin roof", "A tram on a snowy bridge"]
    conf = {
        "prompts": prompts,
        "seconds": "4",
        "output_dir": str(out) + "/",
        "extra_params": {"sim": {"queued_s": 0.1, "running_s": 1.5}},
    }

    run = run_example("fan_out_prompts", conf)

    assert run.state == "success", run.states
    assert len(control.jobs("aihubmix")) == len(prompts)  # one video per prompt, none created twice
    finals = run.mapped("wait_for_video")
    downloads = run.mapped("download_video")
    assert [job["prompt"] for job in finals] == prompts
    assert [job["job_id"] for job in run.mapped("create_video")] == [job["job_id"] for job in finals]
    for final, download in zip(finals, downloads, strict=True):
        view = control.job(final["job_id"])
        assert view["timeline"]["running_s"] == 1.5
        assert_aihubmix_job_matches(final, view["vendor"], vidjobs_simulator.url)
        assert_downloaded(download, final["job_id"], out, size=None)
    assert sorted((event["map_index"], event["job_id"]) for event in run.asset_events) == [
        (index, final["job_id"]) for index, final in enumerate(finals)
    ]

    report = run.xcom("cost_report")
    assert report["count"] == 3
    assert report["total_video_seconds"] == 12.0
    assert report["total_cost"] is None  # the OpenAI-shaped API reports no cost
    assert report["costs_reported"] == 0
    assert report["total_bytes"] == sum(download["bytes"] for download in downloads)
    assert [row["job_id"] for row in report["videos"]] == [final["job_id"] for final in finals]
    assert [row["path"] for row in report["videos"]] == [download["path"] for download in downloads]
    for row, final in zip(report["videos"], finals, strict=True):
        took = datetime.fromisoformat(final["completed_at"]) - datetime.fromisoformat(final["created_at"])
        assert row["generation_seconds"] == round(took.total_seconds(), 1)


# ----- comparisons with the simulator's view ----------------------------------------------------


def assert_tensorpix_job_matches(final: dict[str, Any], vendor: dict[str, Any]) -> None:
    """The sensor's XCom is the TensorPix job JSON the simulator serves, normalized."""
    video = vendor["generated_video"]
    assert final["schema_version"] == 1
    assert final["provider"] == "tensorpix"
    assert final["job_id"] == vendor["id"]
    assert final["status"] == "succeeded"
    assert final["vendor_status"] == vendor["status"]
    assert final["progress"] == vendor["progress"] == 100
    assert final["prompt"] == vendor["prompt"]
    assert final["model"] == vendor["model"]
    assert final["kind"] == "text-to-video"
    assert Decimal(final["cost"]) == Decimal(vendor["cost"])
    assert _time(final["started_at"]) == _time(vendor["started_at"])
    assert _time(final["completed_at"]) == _time(video["created_at"])
    assert final["error"] is None
    got = final["video"]
    assert got["video_id"] == video["id"]
    assert (got["width"], got["height"]) == (video["width"], video["height"])
    assert (got["frame_count"], got["frame_rate"]) == (video["n_frames"], video["framerate"])
    assert got["duration_seconds"] == pytest.approx(video["n_frames"] / video["framerate"])
    assert got["size_bytes"] == video["size"]
    # Storage URLs are signed afresh on every read: the same file, another signature.
    assert urlsplit(got["url"]).path == urlsplit(video["file"]).path
    assert urlsplit(got["thumbnail_url"]).path == urlsplit(video["thumbnail"]).path


def assert_aihubmix_job_matches(final: dict[str, Any], vendor: dict[str, Any], base_url: str) -> None:
    """The XCom is the OpenAI-shaped Video object the simulator serves, normalized."""
    assert final["schema_version"] == 1
    assert final["provider"] == "aihubmix"
    assert final["job_id"] == vendor["id"]
    assert (final["status"], final["vendor_status"]) == ("succeeded", vendor["status"]) == ("succeeded", "completed")
    assert final["progress"] == vendor["progress"] == 100
    assert final["prompt"] == vendor["prompt"]
    assert final["model"] == vendor["model"]
    assert final["cost"] is None
    assert final["error"] is None
    for key in ("created_at", "completed_at", "expires_at"):
        assert _time(final[key]) == datetime.fromtimestamp(vendor[key], UTC), key
    assert final["extras"]["size"] == vendor["size"]
    assert final["extras"]["quality"] == vendor["quality"]
    content = f"{base_url}/v1/videos/{quote(vendor['id'], safe='')}/content"
    assert final["video"] == {
        "url": content,
        "thumbnail_url": f"{content}?variant=thumbnail",
        "width": vendor["width"],
        "height": vendor["height"],
        "duration_seconds": float(vendor["seconds"]),
        "frame_rate": None,
        "frame_count": None,
        "size_bytes": None,
        "video_id": vendor["id"],
    }


def assert_downloaded(download: dict[str, Any], job_id: str, folder: Path, size: int | None) -> None:
    """The file is in ``folder``, named after the job, and holds exactly the bytes the simulator serves."""
    path = Path(download["path"])
    assert path.parent == folder
    assert path.name.startswith("aihubmix-")
    assert path.suffix == ".mp4"
    data = path.read_bytes()
    assert download["bytes"] == len(data)
    assert download["sha256"] == hashlib.sha256(data).hexdigest() == synthetic_video_sha256(size, job_id)
    assert download["job_id"] == job_id
    assert download["content_type"] == "video/mp4"
    assert not [p for p in folder.iterdir() if ".part-" in p.name]  # no temporary files left behind


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
