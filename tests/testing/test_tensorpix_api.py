"""TensorPix endpoints: documented shapes, timeline, spellings, auth and Django-style errors."""

from __future__ import annotations

import httpx

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from .conftest import FAST, tp_auth, tp_job_path, wait_for

#: Keys of the job and of its generated video on TensorPix's reference page (GET video-gen job).
DOC_JOB_KEYS = {
    "id", "prompt", "type", "status", "cost", "model", "generated_video", "input_images", "progress", "started_at",
    "options",
}  # fmt: skip
DOC_VIDEO_KEYS = {
    "id", "name", "created_at", "job", "uploaded_video", "width", "height", "n_frames", "framerate", "size", "file",
    "thumbnail",
}  # fmt: skip


def _create(http: httpx.Client, handle: SimulatorHandle, **body: object) -> dict[str, object]:
    resp = http.post("/api/video-gen/jobs/", json={"prompt": "a fox", **body}, headers=tp_auth(handle))
    assert resp.status_code == 201, resp.text
    data: dict[str, object] = resp.json()
    return data


def test_job_has_documented_keys_through_its_life(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = _create(http, sim, type="i2v", options={"seed": 7}, input_images=["https://img.example/a.png"], sim=FAST)
    assert set(job) == DOC_JOB_KEYS
    assert job["status"] == "queued"
    assert job["generated_video"] is None
    assert job["started_at"] is None
    assert job["type"] == "i2v"
    assert job["options"] == {"seed": 7}
    assert job["input_images"][0]["file"] == "https://img.example/a.png"  # type: ignore[index]
    assert isinstance(job["cost"], str)
    assert float(job["cost"]) > 0

    def running() -> dict[str, object] | None:
        body = http.get(tp_job_path(str(job["id"])), headers=tp_auth(sim)).json()
        return body if body["status"] == "processing" else None

    mid = wait_for(running)
    assert 0 <= mid["progress"] < 100
    assert mid["started_at"].endswith("Z")

    def done() -> dict[str, object] | None:
        body = http.get(tp_job_path(str(job["id"])), headers=tp_auth(sim)).json()
        return body if body["status"] == "completed" else None

    final = wait_for(done)
    video = final["generated_video"]
    assert set(video) == DOC_VIDEO_KEYS
    assert video["job"] == job["id"]
    assert final["progress"] == 100
    assert video["n_frames"] / video["framerate"] == 2.0  # duration of the real asset
    assert (video["width"], video["height"]) == (160, 90)
    asset = httpx.get(video["file"], trust_env=False)
    assert asset.status_code == 200
    assert len(asset.content) == video["size"]
    assert asset.content[4:8] == b"ftyp"
    thumb = httpx.get(video["thumbnail"], trust_env=False)
    assert thumb.status_code == 200
    assert thumb.content[:3] == b"\xff\xd8\xff"

    by_video = http.get(f"/api/video-gen/videos/{video['id']}/", headers=tp_auth(sim))
    assert by_video.status_code == 200
    assert set(by_video.json()) == DOC_VIDEO_KEYS


def test_status_spellings_are_configurable(sim: SimulatorHandle, http: httpx.Client) -> None:
    spell = {"queued": "IN_QUEUE", "running": "Generating", "completed": "DONE", "failed": "ERRORED"}
    job = sim.control.create_job("tensorpix", sim={"queued_s": 0.1, "running_s": 0.1, "statuses": spell})
    seen = set()

    def finished() -> bool:
        status = http.get(tp_job_path(job["id"]), headers=tp_auth(sim)).json()["status"]
        seen.add(status)
        return status == "DONE"

    wait_for(finished, interval=0.01)
    assert {"IN_QUEUE", "Generating", "DONE"} <= seen
    failed = sim.control.create_job(
        "tensorpix", sim={"queued_s": 0, "running_s": 0, "outcome": "failed", "statuses": spell}
    )
    body = http.get(tp_job_path(failed["id"]), headers=tp_auth(sim)).json()
    assert body["status"] == "ERRORED"
    assert body["generated_video"] is None


def test_auth_errors_are_drf_shaped(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("tensorpix")
    path = tp_job_path(job["id"])
    missing = http.get(path)
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    assert missing.headers["www-authenticate"] == "Token"
    wrong = http.get(path, headers={"Authorization": "Token nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid token."}
    bearer = http.get(path, headers={"Authorization": f"Bearer {sim.tensorpix_key}"})
    assert bearer.status_code == 401
    assert "not provided" in bearer.json()["detail"]
    lower = http.get(path, headers={"Authorization": f"token {sim.tensorpix_key}"})
    assert lower.status_code == 200


def test_not_found_and_malformed_ids(sim: SimulatorHandle, http: httpx.Client) -> None:
    unknown = http.get(tp_job_path("3c90c3cc-0d44-4b50-8888-8dd25736052a"), headers=tp_auth(sim))
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not found."}
    malformed = http.get(tp_job_path("not-a-uuid"), headers=tp_auth(sim))
    assert malformed.status_code == 404
    assert malformed.json() == {"detail": "Not found."}
    unrouted = http.get("/api/video-gen/nothing/", headers=tp_auth(sim))
    assert unrouted.status_code == 404
    assert unrouted.headers["content-type"].startswith("text/html")
    ah_job = sim.control.create_job("aihubmix", id="3c90c3cc-0d44-4b50-8888-000000000000")
    other_api = http.get(tp_job_path(ah_job["id"]), headers=tp_auth(sim))
    assert other_api.status_code == 404
    video_not_ready = sim.control.create_job("tensorpix", sim={"queued_s": 60})
    assert http.get(f"/api/video-gen/videos/{video_not_ready['video_id']}/", headers=tp_auth(sim)).status_code == 404


def test_missing_trailing_slash_redirects_like_django(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("tensorpix")
    resp = http.get(f"/api/video-gen/jobs/{job['id']}", headers=tp_auth(sim))
    assert resp.status_code == 301
    assert resp.headers["location"] == tp_job_path(job["id"])
    with_query = http.get(f"/api/video-gen/jobs/{job['id']}?fields=status", headers=tp_auth(sim))
    assert with_query.headers["location"] == tp_job_path(job["id"]) + "?fields=status"


def test_create_validation_and_method_errors(sim: SimulatorHandle, http: httpx.Client) -> None:
    resp = http.post("/api/video-gen/jobs/", json={"type": "x2y"}, headers=tp_auth(sim))
    assert resp.status_code == 400
    assert resp.json()["prompt"] == ["This field is required."]
    assert "type" in resp.json()
    bad_sim = http.post("/api/video-gen/jobs/", json={"prompt": "p", "sim": {"bogus": 1}}, headers=tp_auth(sim))
    assert bad_sim.status_code == 400
    assert "bogus" in bad_sim.json()["sim"][0]
    job = sim.control.create_job("tensorpix")
    delete = http.delete(tp_job_path(job["id"]), headers=tp_auth(sim))
    assert delete.status_code == 405
    assert delete.json() == {"detail": 'Method "DELETE" not allowed.'}
    unauth_create = http.post("/api/video-gen/jobs/", json={"prompt": "p"})
    assert unauth_create.status_code == 401
