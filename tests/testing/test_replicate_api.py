"""The simulated Replicate predictions API with plain httpx: the prediction object, statuses over time,
logs with percentages, cancel, create, problem-details errors, routing beside AIHubMix's ``/v1``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorConfig, SimulatorHandle
from airflow_provider_vidjobs.testing.simulator.apis.replicate import DEFAULT_KEY as DEFAULT_REPLICATE_KEY

from .conftest import FAST, ah_auth, wait_for

#: The keys of the prediction object in Replicate's reference (OpenAPI schema and the get example).
DOCUMENTED = {
    "id", "model", "version", "input", "logs", "output", "data_removed", "error", "status", "created_at",
    "started_at", "completed_at", "urls",
}  # fmt: skip
AUTH = {"Authorization": f"Bearer {DEFAULT_REPLICATE_KEY}"}
FIXTURES = Path(__file__).parents[1] / "fixtures"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def create(handle: SimulatorHandle, **fields: Any) -> dict[str, Any]:
    fields.setdefault("sim", FAST)
    return handle.control.create_job("replicate", **fields)


def get(http: httpx.Client, job_id: str) -> dict[str, Any]:
    resp = http.get(f"/v1/predictions/{job_id}", headers=AUTH)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_prediction_object_while_starting(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim, sim={"queued_s": 60})
    pred = get(http, job["id"])
    assert set(pred) >= DOCUMENTED
    assert re.fullmatch(r"[a-z2-7]{26}", pred["id"])
    assert pred["status"] == "starting"
    assert (pred["output"], pred["error"], pred["started_at"], pred["completed_at"]) == (None, None, None, None)
    assert pred["logs"] == ""
    assert ISO.match(pred["created_at"])
    assert "metrics" not in pred  # only terminal predictions carry metrics
    base = f"{sim.url}/v1/predictions/{job['id']}"
    assert pred["urls"] == {"get": base, "cancel": f"{base}/cancel", "web": f"https://replicate.com/p/{job['id']}"}


def test_processing_logs_carry_percentages(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim, sim={"queued_s": 0, "running_s": 100})
    sim.control.advance_clock(45)
    pred = get(http, job["id"])
    assert pred["status"] == "processing"
    assert ISO.match(pred["started_at"])
    assert re.findall(r"(\d+)%", pred["logs"])[-1] in ("45", "46")


def test_succeeded_prediction_has_a_downloadable_output_without_the_token(
    sim: SimulatorHandle, http: httpx.Client
) -> None:
    job = create(sim)
    pred = wait_for(lambda: (p := get(http, job["id"]))["status"] == "succeeded" and p)
    assert isinstance(pred["output"], str)
    assert "/_storage/replicate/" in pred["output"]
    assert pred["metrics"]["predict_time"] == pytest.approx(0.2, abs=0.05)
    assert ISO.match(pred["completed_at"])
    assert pred["data_removed"] is False
    video = http.get(pred["output"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    leak = http.get(pred["output"], headers=AUTH)
    assert leak.status_code == 400
    stats = sim.control.stats()
    assert stats["storage_auth_leaks"] == 1
    assert stats["endpoints"]["GET /_storage/replicate/{job_id}/{file}"]["requests"] == 2


@pytest.mark.parametrize(("shape", "expected"), [("list", list), ("null", type(None))])
def test_output_shapes(sim: SimulatorHandle, http: httpx.Client, shape: str, expected: type) -> None:
    job = create(sim, output_shape=shape)
    pred = wait_for(lambda: (p := get(http, job["id"]))["status"] == "succeeded" and p)
    assert isinstance(pred["output"], expected)


def test_failed_prediction_has_an_error_string(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim, sim={**FAST, "outcome": "failed", "error_message": "CUDA out of memory"})
    pred = wait_for(lambda: (p := get(http, job["id"]))["status"] == "failed" and p)
    assert pred["error"] == "CUDA out of memory"
    assert pred["output"] is None


def test_cancel_stops_a_running_prediction(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim, sim={"queued_s": 0, "running_s": 100})
    resp = http.post(f"/v1/predictions/{job['id']}/cancel", headers=AUTH)
    assert resp.status_code == 200
    assert resp.json()["status"] == "canceled"
    sim.control.advance_clock(200)
    assert get(http, job["id"])["status"] == "canceled"  # stays canceled, never succeeds
    assert sim.control.stats()["stopped_jobs"] == {job["id"]: "processing"}


def test_cancel_of_a_finished_prediction_answers_it_unchanged(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim)
    wait_for(lambda: get(http, job["id"])["status"] == "succeeded")
    resp = http.post(f"/v1/predictions/{job['id']}/cancel", headers=AUTH)
    assert resp.status_code == 200
    assert resp.json()["status"] == "succeeded"
    assert sim.control.stats()["stopped_jobs"] == {}


def test_create_by_version_and_by_model(sim: SimulatorHandle, http: httpx.Client) -> None:
    by_version = http.post(
        "/v1/predictions", json={"version": "owner/model:abc123", "input": {"prompt": "a cat"}}, headers=AUTH
    )
    assert by_version.status_code == 201
    assert (by_version.json()["model"], by_version.json()["version"]) == ("owner/model", "abc123")
    assert by_version.json()["input"] == {"prompt": "a cat"}
    by_model = http.post("/v1/models/minimax/video-01/predictions", json={"input": {"prompt": "x"}}, headers=AUTH)
    assert by_model.status_code == 201
    assert by_model.json()["model"] == "minimax/video-01"
    assert sim.control.stats()["creates"]["total"] == 2


def test_create_without_version_or_with_a_bad_input_is_422(sim: SimulatorHandle, http: httpx.Client) -> None:
    missing = http.post("/v1/predictions", json={"input": {}}, headers=AUTH)
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    bad = http.post("/v1/predictions", json={"version": "v", "input": "text"}, headers=AUTH)
    assert bad.status_code == 422
    assert "input" in bad.json()["detail"]


def test_auth_errors_are_problem_details(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim)
    none = http.get(f"/v1/predictions/{job['id']}")
    assert none.status_code == 401
    assert none.json()["title"] == "Unauthenticated"
    wrong = http.get(f"/v1/predictions/{job['id']}", headers={"Authorization": "Bearer r8_wrong"})
    assert wrong.status_code == 401
    assert "r8_wrong" not in wrong.text
    assert http.get(f"/v1/predictions/{job['id']}", headers={"Authorization": f"Token {DEFAULT_REPLICATE_KEY}"})
    sim.control.revoke_key("replicate")
    assert http.get(f"/v1/predictions/{job['id']}", headers=AUTH).status_code == 401


def test_unknown_prediction_is_404(sim: SimulatorHandle, http: httpx.Client) -> None:
    resp = http.get("/v1/predictions/doesnotexist", headers=AUTH)
    assert resp.status_code == 404
    assert resp.json() == {"title": "Not found", "detail": "The requested resource could not be found.", "status": 404}


def test_routing_keeps_aihubmix_and_replicate_apart(sim: SimulatorHandle, http: httpx.Client) -> None:
    ah = sim.control.create_job("aihubmix", sim=FAST)
    rep = create(sim)
    assert http.get(f"/v1/predictions/{ah['id']}", headers=AUTH).status_code == 404  # another API's job
    assert http.get(f"/v1/videos/{rep['id']}", headers=ah_auth(sim)).status_code == 404
    assert http.get("/v1/videos", headers=ah_auth(sim)).status_code == 200
    assert http.get(f"/v1/predictions/{rep['id']}", headers=ah_auth(sim)).status_code == 401  # keys per API
    endpoints = sim.control.stats()["endpoints"]
    assert "GET /v1/predictions/{prediction_id}" in endpoints
    assert "GET /v1/videos" in endpoints


def test_faults_reach_replicate_in_its_own_error_shape(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim)
    sim.control.add_faults({"kind": "http_error", "status": 503, "api": "replicate", "count": 1})
    failed = http.get(f"/v1/predictions/{job['id']}", headers=AUTH)
    assert failed.status_code == 503
    assert failed.json()["status"] == 503
    assert get(http, job["id"])["id"] == job["id"]
    sim.control.add_job_faults(job["id"], {"kind": "unknown_status", "value": "aborted"})
    assert get(http, job["id"])["status"] == "aborted"


def test_control_view_and_keys(sim: SimulatorHandle) -> None:
    job = create(sim)
    view = sim.control.job(job["id"])
    assert view["api"] == "replicate"
    assert view["vendor"]["id"] == job["id"]
    assert view["paths"]["prediction"] == f"/v1/predictions/{job['id']}"
    assert sim.control.keys()["replicate"] == [DEFAULT_REPLICATE_KEY]
    sim.control.set_config(keys={"replicate": ["r8_other"]})
    assert sim.control.keys()["replicate"] == ["r8_other"]
    sim.control.reset()
    assert sim.control.keys()["replicate"] == [DEFAULT_REPLICATE_KEY]


def test_the_prediction_has_every_key_of_the_example_document(sim: SimulatorHandle, http: httpx.Client) -> None:
    example = json.loads((FIXTURES / "replicate_get_prediction.json").read_text())
    job = create(sim)
    pred = wait_for(lambda: (p := get(http, job["id"]))["status"] == "succeeded" and p)
    assert set(example) <= set(pred)
    assert set(example["urls"]) <= set(pred["urls"])
    assert set(example["metrics"]) <= set(pred["metrics"])


def test_cancel_while_starting_never_starts(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim, sim={"queued_s": 100, "running_s": 100})
    canceled = http.post(f"/v1/predictions/{job['id']}/cancel", headers=AUTH).json()
    sim.control.advance_clock(500)
    pred = get(http, job["id"])
    assert (pred["status"], pred["started_at"], pred["output"], pred["logs"]) == ("canceled", None, None, "")
    assert pred["completed_at"] == canceled["completed_at"]
    assert pred["metrics"]["predict_time"] == 0.0
    assert sim.control.stats()["stopped_jobs"] == {job["id"]: "starting"}
    assert sim.control.job(job["id"])["phase"] == "queued"  # its life stopped where it was


def test_a_canceled_prediction_serves_no_output(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim, sim={"queued_s": 0, "running_s": 100})
    http.post(f"/v1/predictions/{job['id']}/cancel", headers=AUTH)
    sim.control.advance_clock(500)
    path = sim.control.job(job["id"])["paths"]["video"]
    assert path == f"/_storage/replicate/{job['id']}/out-{job['id']}.mp4"
    # Even a correctly signed URL finds nothing: the prediction never succeeded.
    assert http.get(path).status_code == 403


def test_injected_429_speaks_replicates_rate_limit_text(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = create(sim)
    sim.control.add_faults({"kind": "http_error", "status": 429, "retry_after": 7, "api": "replicate", "count": 1})
    resp = http.get(f"/v1/predictions/{job['id']}", headers=AUTH)
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "7"
    assert resp.json() == {
        "title": "Too many requests",
        "detail": "Request was throttled. Expected available in 7 seconds.",
        "status": 429,
    }


def test_routes_under_the_registered_prefixes(sim: SimulatorHandle, http: httpx.Client) -> None:
    assert http.get("/v1/models/minimax/video-01/predictions", headers=AUTH).status_code == 405
    assert http.post("/v1/models/minimax/predictions", headers=AUTH, json={}).status_code == 404
    assert http.delete(f"/v1/predictions/{create(sim)['id']}", headers=AUTH).status_code == 405
    assert http.get("/v1/predictions/x/y/z", headers=AUTH).json()["title"] == "Not found"
    assert http.get("/v1/predictionsx", headers=ah_auth(sim)).status_code == 404  # AIHubMix's, not ours
    assert "title" not in http.get("/v1/predictionsx", headers=ah_auth(sim)).json()


def test_the_registry_gives_it_keys_connections_and_config(sim: SimulatorHandle) -> None:
    assert sim.replicate_key == DEFAULT_REPLICATE_KEY
    conn = json.loads(sim.airflow_connections()["AIRFLOW_CONN_REPLICATE_DEFAULT"])
    assert conn == {"conn_type": "replicate", "host": sim.url, "password": DEFAULT_REPLICATE_KEY}
    assert SimulatorConfig(replicate_keys=["r8_x"]).keys["replicate"] == ["r8_x"]
