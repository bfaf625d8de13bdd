"""The simulator's money counters (issue 14): accepted creates per request fingerprint, and jobs a
``DELETE /v1/videos/{id}`` stopped before they ended."""

from __future__ import annotations

import httpx

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from .conftest import ah_auth, ah_video_path, wait_for


def test_creates_are_counted_per_request_fingerprint(sim: SimulatorHandle, http: httpx.Client) -> None:
    same = {"prompt": "a fox", "model": "sora-2", "seconds": "4"}
    for _ in range(2):
        assert http.post("/v1/videos", json=same, headers=ah_auth(sim)).status_code == 200
    assert http.post("/v1/videos", json={**same, "prompt": "a cat"}, headers=ah_auth(sim)).status_code == 200
    assert http.post("/v1/videos", json={"seconds": "4"}, headers=ah_auth(sim)).status_code == 400  # not paid
    assert http.post("/v1/videos", json=same).status_code == 401  # not paid
    creates = sim.control.stats()["creates"]
    assert creates["total"] == 3
    assert sorted(creates["by_fingerprint"].values()) == [1, 2]
    sim.control.reset_stats()
    assert sim.control.stats()["creates"] == {"total": 0, "by_fingerprint": {}, "jobs": {}}


def test_an_uploaded_file_counts_by_its_name_type_and_size(sim: SimulatorHandle, http: httpx.Client) -> None:
    for content in (b"A" * 10, b"B" * 10, b"C" * 11):
        files = {"input_reference": ("cat.png", content, "image/png")}
        assert http.post("/v1/videos", data={"prompt": "p"}, files=files, headers=ah_auth(sim)).status_code == 200
    assert sorted(sim.control.stats()["creates"]["by_fingerprint"].values()) == [1, 2]


def test_delete_stops_a_running_job_and_it_is_gone(sim: SimulatorHandle, http: httpx.Client) -> None:
    running = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 600})["id"]
    queued = sim.control.create_job("aihubmix", sim={"queued_s": 600, "running_s": 60})["id"]
    done = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0})["id"]
    wait_for(lambda: sim.control.job(done)["phase"] == "completed")
    for job_id in (running, queued, done):
        reply = http.delete(ah_video_path(job_id), headers=ah_auth(sim))
        assert reply.json() == {"id": job_id, "object": "video.deleted", "deleted": True}
        assert http.get(ah_video_path(job_id), headers=ah_auth(sim)).status_code == 404
    assert sim.control.stats()["stopped_jobs"] == {running: "in_progress", queued: "queued"}
