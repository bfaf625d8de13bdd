"""Jobs that live in time: phases, progress, noise, time scale, clock jumps, live updates."""

from __future__ import annotations

import itertools
import time

import httpx

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from .conftest import ah_auth, ah_video_path, tp_auth, tp_job_path, wait_for


def test_defaults_are_fast(sim: SimulatorHandle, http: httpx.Client) -> None:
    timeline = sim.control.config()["timeline"]
    assert timeline["queued_s"] == 0.5
    assert timeline["running_s"] == 1.5
    assert timeline["outcome"] == "completed"


def test_progress_rises_while_running(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 1000})["id"]
    readings = []
    for step in (100, 300, 600):
        sim.control.advance_clock(step)
        readings.append(http.get(ah_video_path(job), headers=ah_auth(sim)).json()["progress"])
    assert readings == sorted(readings)
    assert readings[0] >= 10
    assert readings[-1] >= 99 - 1
    sim.control.advance_clock(1)
    final = http.get(ah_video_path(job), headers=ah_auth(sim)).json()
    assert final["status"] == "completed"
    assert final["progress"] == 100


def test_noisy_progress_can_go_backwards(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("tensorpix", sim={"queued_s": 0, "running_s": 10**6, "progress_noise": 20})["id"]
    sim.control.advance_clock(5 * 10**5)  # base progress 50
    values = [http.get(tp_job_path(job), headers=tp_auth(sim)).json()["progress"] for _ in range(20)]
    assert all(29 <= v <= 71 for v in values)
    assert any(b < a for a, b in itertools.pairwise(values))


def test_time_scale_speeds_up_long_jobs(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("tensorpix", sim={"queued_s": 30, "running_s": 60})["id"]
    sim.control.set_time_scale(400)  # 90 simulated seconds in ~0.23 real seconds
    start = time.monotonic()
    wait_for(lambda: http.get(tp_job_path(job), headers=tp_auth(sim)).json()["status"] == "completed")
    assert time.monotonic() - start < 2
    assert sim.control.config()["time_scale"] == 400


def test_timestamps_follow_the_timeline(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("aihubmix", sim={"queued_s": 10, "running_s": 20, "assets_ttl_s": 3600})["id"]
    sim.control.advance_clock(31)
    video = http.get(ah_video_path(job), headers=ah_auth(sim)).json()
    assert video["completed_at"] - video["created_at"] in (29, 30, 31)
    assert video["expires_at"] - video["completed_at"] == 3600
    fixed = sim.control.create_job(
        "tensorpix", sim={"queued_s": 0, "running_s": 0, "started_at": 1700000000, "completed_at": 1700000100}
    )["id"]
    body = http.get(tp_job_path(fixed), headers=tp_auth(sim)).json()
    assert body["started_at"] == "2023-11-14T22:13:20Z"
    assert body["generated_video"]["created_at"] == "2023-11-14T22:15:00Z"


def test_update_timeline_mid_wait(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 60})["id"]
    assert http.get(ah_video_path(job), headers=ah_auth(sim)).json()["status"] == "in_progress"
    sim.control.update_job(job, running_s=0, outcome="failed", error_message="GPU on fire")
    video = http.get(ah_video_path(job), headers=ah_auth(sim)).json()
    assert video["status"] == "failed"
    assert video["error"] == {"code": "generation_failed", "message": "GPU on fire"}


def test_default_timeline_and_reset(sim: SimulatorHandle, http: httpx.Client) -> None:
    sim.control.set_config(timeline={"queued_s": 0, "running_s": 0})
    video = http.post("/v1/videos", json={"prompt": "p"}, headers=ah_auth(sim)).json()
    assert video["status"] == "completed"
    sim.control.reset()
    assert sim.control.config()["timeline"]["queued_s"] == 0.5
    assert http.get(ah_video_path(video["id"]), headers=ah_auth(sim)).status_code == 404
