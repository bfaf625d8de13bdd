"""The OpenAI-shaped API with plain httpx: exact keys, envelope errors, request ids, routing."""

from __future__ import annotations

import string

import httpx

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from .conftest import ah_auth, ah_video_path

#: Every key of the Video object in the AIHubMix/OpenAI reference (all required, some nullable).
DOCUMENTED = {
    "id", "object", "model", "status", "progress", "created_at", "completed_at", "expires_at", "prompt", "size",
    "seconds", "remixed_from_video_id", "error",
}  # fmt: skip


def test_video_object_has_every_documented_key(sim: SimulatorHandle, http: httpx.Client) -> None:
    resp = http.post("/v1/videos", json={"prompt": "p", "size": "720p", "seconds": 6}, headers=ah_auth(sim))
    assert resp.status_code == 200
    video = resp.json()
    assert set(video) >= DOCUMENTED
    assert video["object"] == "video"
    assert video["status"] == "queued"
    assert video["seconds"] == "6"
    assert video["error"] is None
    assert video["completed_at"] is None
    assert video["remixed_from_video_id"] is None
    assert (video["width"], video["height"], video["duration"], video["quality"]) == (1280, 720, 6, "standard")
    assert resp.headers["x-request-id"].startswith("req_")


def test_default_ids_are_long_base64(sim: SimulatorHandle, http: httpx.Client) -> None:
    ids = [http.post("/v1/videos", json={"prompt": "p"}, headers=ah_auth(sim)).json()["id"] for _ in range(3)]
    for vid in ids:
        assert len(vid) >= 40
        assert vid.endswith("==")
        assert set(vid) <= set(string.ascii_letters + string.digits + "+/=")


def test_encoded_slash_is_not_confused_with_sub_resources(sim: SimulatorHandle, http: httpx.Client) -> None:
    sim.control.create_job("aihubmix", id="x/content", sim={"queued_s": 0, "running_s": 0})
    sim.control.create_job("aihubmix", id="x", sim={"queued_s": 0, "running_s": 0}, prompt="plain x")
    one = http.get(ah_video_path("x/content"), headers=ah_auth(sim))
    assert one.status_code == 200
    assert one.json()["id"] == "x/content"
    sub = http.get("/v1/videos/x/content", headers=ah_auth(sim))
    assert sub.status_code == 200
    assert sub.headers["content-type"] == "video/mp4"
    remix_id = http.post(ah_video_path("x/content", "/remix"), json={"prompt": "again"}, headers=ah_auth(sim))
    assert remix_id.json()["remixed_from_video_id"] == "x/content"


def test_errors_use_openai_envelope(sim: SimulatorHandle, http: httpx.Client) -> None:
    missing = http.get("/v1/videos")
    assert missing.status_code == 401
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    assert missing.headers["x-request-id"]
    wrong = http.get("/v1/videos", headers={"Authorization": "Bearer sk-other"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-other" not in wrong.text  # masked, as OpenAI does
    token_scheme = http.get("/v1/videos", headers={"Authorization": f"Token {sim.aihubmix_key}"})
    assert token_scheme.status_code == 401
    unknown = http.get(ah_video_path("nope"), headers=ah_auth(sim))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"
    bad_route = http.get("/v1/nothing", headers=ah_auth(sim))
    assert bad_route.status_code == 404
    assert "Invalid URL" in bad_route.json()["error"]["message"]
    no_prompt = http.post("/v1/videos", json={}, headers=ah_auth(sim))
    assert no_prompt.status_code == 400
    assert no_prompt.json()["error"]["param"] == "prompt"
    bad_size = http.post("/v1/videos", json={"prompt": "p", "size": "huge"}, headers=ah_auth(sim))
    assert bad_size.json()["error"]["param"] == "size"
    bad_limit = http.get("/v1/videos", params={"limit": 101}, headers=ah_auth(sim))
    assert bad_limit.status_code == 400
    assert bad_limit.json()["error"]["param"] == "limit"


def test_content_rules(sim: SimulatorHandle, http: httpx.Client) -> None:
    waiting = sim.control.create_job("aihubmix", sim={"queued_s": 60})
    not_ready = http.get(ah_video_path(waiting["id"], "/content"), headers=ah_auth(sim))
    assert not_ready.status_code == 400
    assert not_ready.json()["error"]["code"] == "video_not_ready"
    done = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0, "assets_ttl_s": 100})
    path = ah_video_path(done["id"], "/content")
    bad_variant = http.get(path, params={"variant": "gif"}, headers=ah_auth(sim))
    assert bad_variant.status_code == 400
    assert bad_variant.json()["error"]["param"] == "variant"
    ok = http.get(path, headers=ah_auth(sim))
    assert ok.status_code == 200
    assert int(ok.headers["content-length"]) == len(ok.content)
    sim.control.advance_clock(101)
    expired = http.get(path, headers=ah_auth(sim))
    assert expired.status_code == 404
    assert expired.json()["error"]["code"] == "video_expired"


def test_json_create_with_reference_objects(sim: SimulatorHandle, http: httpx.Client) -> None:
    body = {"prompt": "p", "input_reference": {"image_url": "https://img.example/x.png"}, "model": "veo-3"}
    video = http.post("/v1/videos", json=body, headers=ah_auth(sim)).json()
    assert video["model"] == "veo-3"
    assert sim.control.job(video["id"])["vendor"]["model"] == "veo-3"
    bad = http.post("/v1/videos", json={"prompt": "p", "input_reference": 5}, headers=ah_auth(sim))
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "input_reference"


def test_delete_then_gone(sim: SimulatorHandle, http: httpx.Client) -> None:
    job = sim.control.create_job("aihubmix")
    resp = http.delete(ah_video_path(job["id"]), headers=ah_auth(sim))
    assert resp.json() == {"id": job["id"], "object": "video.deleted", "deleted": True}
    assert http.get(ah_video_path(job["id"]), headers=ah_auth(sim)).status_code == 404
    assert http.get("/v1/videos", headers=ah_auth(sim)).json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
