"""OpenLineage facets (airflow_provider_vidjobs.lineage): names of datasets, the run facet, and the three
operators' ``get_openlineage_facets_on_*``, including a resumed task (a new operator object that knows
only what XCom holds) and an Airflow without the OpenLineage provider."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from airflow_provider_vidjobs.lineage import JobLineage, dataset_of, duration_seconds, to_operator_lineage
from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

JOB = {
    "schema_version": 1,
    "provider": "aihubmix",
    "job_id": "video_abc123",
    "status": "succeeded",
    "model": "sora-2",
    "prompt": "a paper boat",
    "created_at": "2026-01-01T10:00:00Z",
    "started_at": None,
    "completed_at": "2026-01-01T10:01:30.500000Z",
    "cost": None,
    "video": {"url": "http://sim/v1/videos/video_abc123/content"},
}


class FakeTI:
    """What the OpenLineage listener passes: a task instance that can read this task's XComs."""

    map_index = -1

    def __init__(self, xcoms: dict[str, Any]) -> None:
        self.xcoms = xcoms
        self.pulls: list[dict[str, Any]] = []

    def xcom_pull(self, *, task_ids: str, key: str, map_indexes: int) -> Any:
        self.pulls.append({"task_ids": task_ids, "key": key, "map_indexes": map_indexes})
        return self.xcoms.get(key)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/data/in/cat.png", ("file", "/data/in/cat.png")),
        ("file:///data/v.mp4", ("file", "/data/v.mp4")),
        ("file://nas1/share/v.mp4", ("file://nas1", "/share/v.mp4")),
        ("s3://bucket/videos/a.mp4", ("s3://bucket", "videos/a.mp4")),
        ("gcs://bucket/a.mp4", ("gs://bucket", "a.mp4")),
        ("memory://videos/a.mp4", ("memory://videos", "/a.mp4")),
        # The query (a signature) and credentials never reach lineage.
        (
            "https://user:pw@img.example.com:8443/cat.png?X-Amz-Signature=s3cr3t#f",
            ("https://img.example.com:8443", "/cat.png"),
        ),
        ({"image_url": "https://img.example.com/a.jpg"}, ("https://img.example.com", "/a.jpg")),
        ("data:image/png;base64,AAAA", None),
        (b"\x89PNG", None),
        ({"file_id": "file-1"}, None),
        (None, None),
        ("", None),
    ],
)
def test_dataset_names_follow_openlineage_naming(location: Any, expected: tuple[str, str] | None) -> None:
    assert dataset_of(location) == expected


def test_duration_from_creation_or_start_to_end() -> None:
    assert duration_seconds(JOB) == 90.5
    assert duration_seconds({**JOB, "created_at": None, "started_at": "2026-01-01T10:01:00Z"}) == 30.5
    assert duration_seconds({**JOB, "completed_at": None}) is None
    assert duration_seconds({"created_at": "garbage", "completed_at": "2026-01-01T10:00:00Z"}) is None


def test_the_run_facet_serializes_as_openlineage_json() -> None:
    from openlineage.client.serde import Serde

    lineage = to_operator_lineage(
        JobLineage(vendor="tensorpix", job_id="j1", model="m", status="succeeded", duration_seconds=3.0, cost="1.5")
    )
    facet = json.loads(Serde.to_json(lineage.run_facets["vidjobs"]))
    assert facet["vendor"] == "tensorpix"
    assert facet["jobId"] == "j1"
    assert (facet["model"], facet["status"], facet["durationSeconds"], facet["cost"]) == ("m", "succeeded", 3.0, "1.5")
    assert facet["_schemaURL"].startswith("https://openlineage.io/")
    assert facet["_producer"]


def test_create_reports_its_image_at_start_and_the_job_on_complete(tmp_path: Any) -> None:
    image = tmp_path / "ref.png"
    op = AIHubMixCreateVideoOperator(task_id="create", prompt="p", input_reference=str(image))
    start = op.get_openlineage_facets_on_start()
    assert [(d.namespace, d.name) for d in start.inputs] == [("file", str(image))]
    assert start.run_facets["vidjobs"].vendor == "aihubmix"
    assert start.run_facets["vidjobs"].jobId is None

    # A resumed task is a new operator object: only XCom knows the job.
    resumed = AIHubMixCreateVideoOperator(task_id="create", prompt="p", input_reference=str(image))
    ti = FakeTI({"return_value": JOB, "job_id": JOB["job_id"]})
    done = resumed.get_openlineage_facets_on_complete(ti)
    facet = done.run_facets["vidjobs"]
    assert (facet.vendor, facet.jobId, facet.model, facet.status) == ("aihubmix", "video_abc123", "sora-2", "succeeded")
    assert facet.durationSeconds == 90.5
    assert facet.cost is None
    assert [(d.namespace, d.name) for d in done.inputs] == [("file", str(image))]
    assert ti.pulls[0] == {"task_ids": "create", "key": "return_value", "map_indexes": -1}


def test_generate_reports_the_image_in_its_request_and_the_job_on_complete() -> None:
    from airflow_provider_vidjobs.operators import GenerateVideoOperator

    op = GenerateVideoOperator(
        task_id="generate",
        provider="aihubmix",
        request={"prompt": "p", "input_reference": "https://img.example.com/first.png?X-Amz-Signature=s"},
    )
    start = op.get_openlineage_facets_on_start()
    assert [(d.namespace, d.name) for d in start.inputs] == [("https://img.example.com", "/first.png")]
    done = op.get_openlineage_facets_on_complete(FakeTI({"return_value": JOB, "job_id": JOB["job_id"]}))
    facet = done.run_facets["vidjobs"]
    assert (facet.vendor, facet.jobId, facet.model) == ("aihubmix", "video_abc123", "sora-2")


def test_a_failed_create_reports_the_job_id_it_pushed() -> None:
    op = AIHubMixCreateVideoOperator(
        task_id="create", prompt="p", input_reference="https://img.example.com/a.png?sig=x"
    )
    failed = op.get_openlineage_facets_on_failure(FakeTI({"job_id": "video_failed1"}))
    assert failed.run_facets["vidjobs"].jobId == "video_failed1"
    assert [(d.namespace, d.name) for d in failed.inputs] == [("https://img.example.com", "/a.png")]


def test_sensor_reports_the_job_from_its_rendered_id_and_its_result() -> None:
    op = VideoJobSensor(task_id="wait", job_id="video_abc123", provider="aihubmix")
    assert op.get_openlineage_facets_on_start().run_facets["vidjobs"].jobId == "video_abc123"
    done = op.get_openlineage_facets_on_complete(FakeTI({"return_value": JOB}))
    facet = done.run_facets["vidjobs"]
    assert (facet.vendor, facet.jobId, facet.model, facet.durationSeconds) == (
        "aihubmix",
        "video_abc123",
        "sora-2",
        90.5,
    )
    failed = op.get_openlineage_facets_on_failure(FakeTI({}))
    assert (failed.run_facets["vidjobs"].jobId, failed.run_facets["vidjobs"].status) == ("video_abc123", None)


def test_sensor_given_an_upstream_job_dict_as_text() -> None:
    op = VideoJobSensor(task_id="wait", job_id=repr({**JOB, "status": "queued"}))
    facet = op.get_openlineage_facets_on_start().run_facets["vidjobs"]
    assert (facet.vendor, facet.jobId, facet.model, facet.status) == ("aihubmix", "video_abc123", "sora-2", "queued")


def test_download_reports_the_written_files_as_outputs() -> None:
    op = DownloadVideoOperator(task_id="download", job=JOB, destination="s3://bucket/videos/")
    result = {
        "provider": "aihubmix",
        "job_id": "video_abc123",
        "variant": "video",
        "path": "/data/videos/aihubmix-video_abc123.mp4",
        "bytes": 10,
        "sha256": "00",
        "content_type": "video/mp4",
        "thumbnail": {"path": "/data/videos/aihubmix-video_abc123.thumbnail.webp", "sha256": "11"},
    }
    done = op.get_openlineage_facets_on_complete(FakeTI({"return_value": result}))
    assert [(d.namespace, d.name) for d in done.outputs] == [
        ("file", "/data/videos/aihubmix-video_abc123.mp4"),
        ("file", "/data/videos/aihubmix-video_abc123.thumbnail.webp"),
    ]
    facet = done.run_facets["vidjobs"]
    assert (facet.vendor, facet.jobId, facet.model, facet.durationSeconds) == (
        "aihubmix",
        "video_abc123",
        "sora-2",
        90.5,
    )


def test_download_by_bare_id_reports_vendor_from_its_result() -> None:
    op = DownloadVideoOperator(task_id="download", job="j-1", destination="/tmp/x/")
    result = {"provider": "tensorpix", "job_id": "j-1", "path": "/tmp/x/a.mp4", "sha256": "00"}
    facet = op.get_openlineage_facets_on_complete(FakeTI({"return_value": result})).run_facets["vidjobs"]
    assert (facet.vendor, facet.jobId, facet.model) == ("tensorpix", "j-1", None)


def test_an_unreadable_xcom_still_gives_lineage() -> None:
    class Broken(FakeTI):
        def xcom_pull(self, **kwargs: Any) -> Any:
            raise RuntimeError("execution API down")

    op = VideoJobSensor(task_id="wait", job_id="j-1", provider="tensorpix")
    assert op.get_openlineage_facets_on_complete(Broken({})).run_facets["vidjobs"].jobId == "j-1"


def test_without_the_openlineage_provider_the_methods_return_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)  # import fails
    op = VideoJobSensor(task_id="wait", job_id="j-1", provider="tensorpix")
    assert op.get_openlineage_facets_on_start() is None
    assert op.get_openlineage_facets_on_complete(FakeTI({"return_value": JOB})) is None
    assert op.get_openlineage_facets_on_failure(FakeTI({})) is None
    # ...and the plain values are there for whoever wants them.
    assert op.video_job_lineage(FakeTI({"return_value": JOB}), finished=True, failed=False).model == "sora-2"
