"""Every fault the simulator can inject, shown with plain httpx."""

from __future__ import annotations

import email.utils
import json
import socket
import time
from datetime import UTC, datetime

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from .conftest import ah_auth, ah_video_path, tp_auth, tp_job_path


@pytest.fixture
def tp_job(sim: SimulatorHandle) -> str:
    return str(sim.control.create_job("tensorpix", sim={"queued_s": 0, "running_s": 0})["id"])


@pytest.fixture
def ah_job(sim: SimulatorHandle) -> str:
    return str(sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0})["id"])


def test_429_with_retry_after_seconds(sim: SimulatorHandle, http: httpx.Client, tp_job: str) -> None:
    sim.control.add_faults({"kind": "http_error", "status": 429, "retry_after": 7, "count": 1})
    limited = http.get(tp_job_path(tp_job), headers=tp_auth(sim))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json() == {"detail": "Request was throttled. Expected available in 7 seconds."}
    assert http.get(tp_job_path(tp_job), headers=tp_auth(sim)).status_code == 200


def test_429_with_retry_after_http_date(sim: SimulatorHandle, http: httpx.Client, ah_job: str) -> None:
    sim.control.add_faults(
        {"kind": "http_error", "status": 429, "retry_after": 30, "retry_after_format": "http-date", "count": 1}
    )
    limited = http.get(ah_video_path(ah_job), headers=ah_auth(sim))
    assert limited.status_code == 429
    when = email.utils.parsedate_to_datetime(limited.headers["retry-after"])
    assert 20 < (when - datetime.now(UTC)).total_seconds() <= 31
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert limited.headers["x-request-id"].startswith("req_")


def test_429_without_retry_after(sim: SimulatorHandle, http: httpx.Client, ah_job: str) -> None:
    sim.control.add_faults({"kind": "http_error", "status": 429, "count": 1, "retry_after_ms": 250})
    limited = http.get(ah_video_path(ah_job), headers=ah_auth(sim))
    assert limited.status_code == 429
    assert "retry-after" not in limited.headers
    assert limited.headers["retry-after-ms"] == "250"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_error_bursts_of_n(sim: SimulatorHandle, http: httpx.Client, ah_job: str, tp_job: str, status: int) -> None:
    sim.control.add_faults({"kind": "http_error", "status": status, "count": 3, "api": "aihubmix"})
    got = [http.get(ah_video_path(ah_job), headers=ah_auth(sim)).status_code for _ in range(4)]
    assert got == [status, status, status, 200]
    sim.control.add_faults({"kind": "http_error", "status": status, "count": 1, "api": "tensorpix"})
    tp = http.get(tp_job_path(tp_job), headers=tp_auth(sim))
    assert tp.status_code == status
    assert tp.headers["content-type"].startswith("text/html")
    assert sim.control.stats()["faults_fired"]["http_error"] == 4


def test_added_latency(sim: SimulatorHandle, http: httpx.Client, tp_job: str) -> None:
    sim.control.add_job_faults(tp_job, {"kind": "latency", "delay_s": 0.3, "count": 1})
    start = time.monotonic()
    assert http.get(tp_job_path(tp_job), headers=tp_auth(sim)).status_code == 200
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    http.get(tp_job_path(tp_job), headers=tp_auth(sim))
    assert time.monotonic() - start < 0.25


def test_connection_reset_mid_response(sim: SimulatorHandle, http: httpx.Client, tp_job: str) -> None:
    sim.control.add_job_faults(tp_job, {"kind": "reset", "count": 1})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.get(tp_job_path(tp_job), headers=tp_auth(sim))
    assert http.get(tp_job_path(tp_job), headers=tp_auth(sim)).status_code == 200
    assert sim.control.stats()["faults_fired"] == {"reset": 1}


@pytest.mark.parametrize("mode", ["rst", "fin"])
def test_reset_sends_partial_body_then_drops(sim: SimulatorHandle, ah_job: str, mode: str) -> None:
    sim.control.add_job_faults(ah_job, {"kind": "reset", "reset_after_bytes": 1000, "reset_mode": mode, "count": 1})
    host, port = sim.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        path = ah_video_path(ah_job, "/content")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sim.aihubmix_key}\r\n\r\n".encode())
        received, error = b"", None
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError as exc:
            error = exc
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
    )
    assert length > 1000
    assert len(body) == 1000
    if mode == "rst":
        assert isinstance(error, ConnectionResetError)  # a real TCP reset, not a clean close
    else:
        assert error is None  # FIN: clean end of stream, body cut short


def test_truncated_json_with_200(sim: SimulatorHandle, http: httpx.Client, ah_job: str) -> None:
    sim.control.add_faults({"kind": "truncated_json", "count": 1, "endpoint": "GET /v1/videos/{video_id}"})
    resp = http.get(ah_video_path(ah_job), headers=ah_auth(sim))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.text.startswith('{"id":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.text)


def test_html_body_with_200(sim: SimulatorHandle, http: httpx.Client, tp_job: str) -> None:
    sim.control.add_faults({"kind": "html", "count": 1})
    resp = http.get(tp_job_path(tp_job), headers=tp_auth(sim))
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.text.lstrip().startswith("<!DOCTYPE html>")


def test_unknown_status_string(sim: SimulatorHandle, http: httpx.Client, tp_job: str, ah_job: str) -> None:
    sim.control.add_job_faults(tp_job, {"kind": "unknown_status", "value": "RENDERING_ON_MARS"})
    sim.control.add_job_faults(ah_job, {"kind": "unknown_status", "value": "pending_review", "count": 1})
    assert http.get(tp_job_path(tp_job), headers=tp_auth(sim)).json()["status"] == "RENDERING_ON_MARS"
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).json()["status"] == "pending_review"
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).json()["status"] == "completed"


def test_schema_drift(sim: SimulatorHandle, http: httpx.Client, tp_job: str, ah_job: str) -> None:
    sim.control.add_job_faults(
        ah_job,
        {
            "kind": "drift",
            "extra": {"vendor_note": "new field", "usage": {"credits": 3}},
            "remove": ["expires_at", "quality"],
            "nulls": ["prompt"],
            "seconds_as_number": True,
        },
    )
    video = http.get(ah_video_path(ah_job), headers=ah_auth(sim)).json()
    assert video["vendor_note"] == "new field"
    assert video["usage"] == {"credits": 3}
    assert "expires_at" not in video
    assert "quality" not in video
    assert video["prompt"] is None
    assert video["seconds"] == 4
    assert isinstance(video["seconds"], int)
    sim.control.add_job_faults(tp_job, {"kind": "drift", "nulls": ["generated_video.thumbnail"], "remove": ["cost"]})
    job = http.get(tp_job_path(tp_job), headers=tp_auth(sim)).json()
    assert job["generated_video"]["thumbnail"] is None
    assert "cost" not in job
    assert job["generated_video"]["file"]


def test_job_stuck_forever(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job(
        "tensorpix", sim={"queued_s": 0, "running_s": 1, "outcome": "stuck", "stuck_progress": 42}
    )
    sim.control.advance_clock(10**7)
    body = http.get(tp_job_path(job["id"]), headers=tp_auth(sim)).json()
    assert body["status"] == "processing"
    assert body["progress"] == 42
    assert body["generated_video"] is None
    queued = sim.control.create_job("aihubmix", sim={"outcome": "stuck_queued"})
    sim.control.advance_clock(10**7)
    assert http.get(ah_video_path(queued["id"]), headers=ah_auth(sim)).json()["status"] == "queued"


def test_job_deleted_mid_wait(sim: SimulatorHandle, http: httpx.Client) -> None:
    tp = sim.control.create_job("tensorpix", sim={"queued_s": 60})
    ah = sim.control.create_job("aihubmix", sim={"queued_s": 60})
    assert http.get(tp_job_path(tp["id"]), headers=tp_auth(sim)).status_code == 200
    sim.control.delete_job(tp["id"])
    sim.control.delete_job(ah["id"])
    assert http.get(tp_job_path(tp["id"]), headers=tp_auth(sim)).status_code == 404
    assert http.get(ah_video_path(ah["id"]), headers=ah_auth(sim)).status_code == 404


def test_key_revoked_mid_wait(sim: SimulatorHandle, http: httpx.Client, tp_job: str, ah_job: str) -> None:
    assert http.get(tp_job_path(tp_job), headers=tp_auth(sim)).status_code == 200
    sim.control.revoke_key("tensorpix", sim.tensorpix_key)
    sim.control.revoke_key("aihubmix")
    revoked = http.get(tp_job_path(tp_job), headers=tp_auth(sim))
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "Invalid token."}
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).status_code == 401
    sim.control.set_keys(tensorpix=["rotated-key"])
    assert http.get(tp_job_path(tp_job), headers={"Authorization": "Token rotated-key"}).status_code == 200


def test_poll_after_ms_header(sim: SimulatorHandle, http: httpx.Client, ah_job: str) -> None:
    assert "openai-poll-after-ms" not in http.get(ah_video_path(ah_job), headers=ah_auth(sim)).headers
    sim.control.set_config(poll_after_ms=1500)
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).headers["openai-poll-after-ms"] == "1500"
    sim.control.update_job(ah_job, poll_after_ms=15000)
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).headers["openai-poll-after-ms"] == "15000"
    sim.control.add_faults({"kind": "headers", "headers": {"x-ratelimit-remaining-requests": "0"}, "count": 1})
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).headers["x-ratelimit-remaining-requests"] == "0"


def test_timed_global_outage(sim: SimulatorHandle, http: httpx.Client, tp_job: str, ah_job: str) -> None:
    sim.control.outage(60)
    assert http.get(tp_job_path(tp_job), headers=tp_auth(sim)).status_code == 503
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).status_code == 503
    sim.control.advance_clock(61)
    assert http.get(tp_job_path(tp_job), headers=tp_auth(sim)).status_code == 200
    sim.control.add_faults({"kind": "http_error", "status": 503, "duration_s": 0.3})
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).status_code == 503
    time.sleep(0.35)
    assert http.get(ah_video_path(ah_job), headers=ah_auth(sim)).status_code == 200


def test_faults_scoped_to_job_endpoint_and_skip(sim: SimulatorHandle, http: httpx.Client, ah_job: str) -> None:
    other = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0})["id"]
    sim.control.add_job_faults(ah_job, {"kind": "http_error", "status": 502, "skip": 1, "count": 2})
    sim.control.add_faults({"kind": "http_error", "status": 500, "endpoint": "GET /v1/videos/{video_id}/content"})
    codes = [http.get(ah_video_path(ah_job), headers=ah_auth(sim)).status_code for _ in range(4)]
    assert codes == [200, 502, 502, 200]
    assert http.get(ah_video_path(other), headers=ah_auth(sim)).status_code == 200
    assert http.get(ah_video_path(other, "/content"), headers=ah_auth(sim)).status_code == 500
    assert http.get("/v1/videos", headers=ah_auth(sim)).status_code == 200
    sim.control.clear_faults()
    assert http.get(ah_video_path(other, "/content"), headers=ah_auth(sim)).status_code == 200


def test_storage_faults_use_s3_bodies(sim: SimulatorHandle, http: httpx.Client, tp_job: str) -> None:
    url = http.get(tp_job_path(tp_job), headers=tp_auth(sim)).json()["generated_video"]["file"]
    sim.control.add_faults({"kind": "http_error", "status": 503, "api": "storage", "count": 1})
    slow = httpx.get(url, trust_env=False)
    assert slow.status_code == 503
    assert "<Code>SlowDown</Code>" in slow.text
    assert httpx.get(url, trust_env=False).status_code == 200
