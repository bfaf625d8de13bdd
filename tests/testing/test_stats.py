"""Counters: requests and statuses per endpoint and per job; TCP connections on keep-alive vs new."""

from __future__ import annotations

import httpx

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from .conftest import ah_auth, ah_video_path, tp_auth, tp_job_path


def test_requests_and_statuses_per_endpoint_and_job(sim: SimulatorHandle, http: httpx.Client) -> None:
    tp = sim.control.create_job("tensorpix", sim={"queued_s": 0, "running_s": 0})["id"]
    ah = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0})["id"]
    for _ in range(3):
        http.get(tp_job_path(tp), headers=tp_auth(sim))
    http.get(tp_job_path(tp))  # 401
    http.get(ah_video_path(ah), headers=ah_auth(sim))
    http.get(ah_video_path(ah, "/content"), headers=ah_auth(sim))
    http.get(ah_video_path("missing"), headers=ah_auth(sim))
    created = http.post("/v1/videos", json={"prompt": "p"}, headers=ah_auth(sim)).json()["id"]
    sim.control.job(tp)  # control calls are not counted

    stats = sim.control.stats()
    endpoints = stats["endpoints"]
    assert endpoints["GET /api/video-gen/jobs/{id}/"] == {"requests": 4, "statuses": {"200": 3, "401": 1}}
    assert endpoints["GET /v1/videos/{video_id}"] == {"requests": 2, "statuses": {"200": 1, "404": 1}}
    assert endpoints["GET /v1/videos/{video_id}/content"]["requests"] == 1
    assert endpoints["POST /v1/videos"] == {"requests": 1, "statuses": {"200": 1}}
    assert stats["requests_total"] == 8
    assert stats["jobs"][tp]["requests"] == 4
    assert stats["jobs"][tp]["statuses"] == {"200": 3, "401": 1}
    assert stats["jobs"][ah]["endpoints"]["GET /v1/videos/{video_id}/content"]["statuses"] == {"200": 1}
    assert stats["jobs"][created]["requests"] == 1
    assert not any(key.startswith("GET /_sim") for key in endpoints)

    sim.control.reset_stats()
    after = sim.control.stats()
    assert after["requests_total"] == 0
    assert after["endpoints"] == {}
    assert after["jobs"] == {}


def test_keep_alive_reuses_one_connection(sim: SimulatorHandle) -> None:
    job = sim.control.create_job("tensorpix")["id"]
    with httpx.Client(base_url=sim.url, trust_env=False) as client:
        for _ in range(10):
            assert client.get(tp_job_path(job), headers=tp_auth(sim)).status_code == 200
        conns = sim.control.stats()["connections"]
        assert conns["api_accepted"] == 1
        assert conns["api_open"] == 1
    assert sim.control.stats()["jobs"][job]["requests"] == 10


def test_new_connection_per_request_is_visible(sim: SimulatorHandle) -> None:
    job = sim.control.create_job("tensorpix")["id"]
    for _ in range(5):
        with httpx.Client(base_url=sim.url, trust_env=False) as client:
            client.get(tp_job_path(job), headers=tp_auth(sim))
    no_keepalive = httpx.Client(base_url=sim.url, trust_env=False, headers={"Connection": "close"})
    for _ in range(2):
        no_keepalive.get(tp_job_path(job), headers=tp_auth(sim))
    no_keepalive.close()
    conns = sim.control.stats()["connections"]
    assert conns["api_accepted"] == 7
    assert conns["accepted"] >= 7
