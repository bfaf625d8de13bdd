"""Pure pieces without a server: body parsing, timeline coercion, fault rules, synthetic assets, ids."""

from __future__ import annotations

import hashlib
import random
import string

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import synthetic_video_chunks, synthetic_video_sha256
from airflow_provider_vidjobs.testing.simulator.apis.aihubmix import new_aihubmix_id
from airflow_provider_vidjobs.testing.simulator.faults import FaultError, apply_modifiers, parse_rule
from airflow_provider_vidjobs.testing.simulator.forms import BodyError, UploadedFile, parse_body
from airflow_provider_vidjobs.testing.simulator.storage import assets
from airflow_provider_vidjobs.testing.simulator.timeline import Timeline, TimelineError


def test_multipart_with_brackets_and_binary_file() -> None:
    payload = b"\x89PNG\r\n\x1a\n\r\n--boundary-lookalike\r\n\x00\xff"
    req = httpx.Request(
        "POST",
        "http://x/v1/videos",
        data={"prompt": "héllo", "sim[queued_s]": "0.1", "sim[statuses][queued]": "IN_QUEUE"},
        files={"input_reference": ("a.png", payload, "image/png")},
    )
    body = parse_body(req.read(), req.headers["content-type"])
    assert body["prompt"] == "héllo"
    assert body["sim"] == {"queued_s": "0.1", "statuses": {"queued": "IN_QUEUE"}}
    assert body["input_reference"] == UploadedFile("a.png", "image/png", len(payload))


def test_form_json_object_values_and_bad_json() -> None:
    assert parse_body(b"prompt=a&sim=%7B%22queued_s%22%3A+1%7D", "application/x-www-form-urlencoded") == {
        "prompt": "a",
        "sim": {"queued_s": 1},
    }
    with pytest.raises(BodyError):
        parse_body(b"[1, 2]", "application/json")
    with pytest.raises(BodyError):
        parse_body(b"{nope", "application/json")


def test_timeline_coerces_form_strings() -> None:
    t = Timeline().updated({"queued_s": "2.5", "poll_after_ms": "300", "asset_size_bytes": "null", "outcome": "stuck"})
    assert (t.queued_s, t.poll_after_ms, t.asset_size_bytes, t.outcome) == (2.5, 300, None, "stuck")
    t2 = t.updated({"statuses": '{"completed": "DONE"}'})
    assert t2.statuses["completed"] == "DONE"
    assert t2.statuses["queued"] == "queued"
    for bad in ({"queued_s": "soon"}, {"outcome": "exploded"}, {"statuses": {"paused": "P"}}, {"nope": 1}):
        with pytest.raises(TimelineError):
            Timeline().updated(bad)


def test_fault_rule_validation() -> None:
    rule = parse_rule({"kind": "http_error", "status": "429", "count": "2"}, now=0, rule_id=1)
    assert (rule.status, rule.count) == (429, 2)
    assert parse_rule({"kind": "html"}, now=0, rule_id=2).effective_status == 200
    assert parse_rule({"kind": "http_error"}, now=0, rule_id=3).effective_status == 503
    for bad in ({"kind": "boom"}, {"kind": "http_error", "status": 200}, {"kind": "reset", "reset_mode": "x"}):
        with pytest.raises(FaultError):
            parse_rule(bad, now=0, rule_id=9)


def test_drift_does_not_mutate_the_original() -> None:
    original = {"status": "done", "generated_video": {"file": "u", "thumbnail": "t"}}
    rule = parse_rule({"kind": "drift", "nulls": ["generated_video.thumbnail"]}, now=0, rule_id=1)
    changed = apply_modifiers(original, [rule])
    assert changed["generated_video"]["thumbnail"] is None
    assert original["generated_video"]["thumbnail"] == "t"


@pytest.mark.parametrize("extra", [-100, 0, 1, 16, 17, 3 * 1024 * 1024 + 5])
def test_synthetic_video_sizes_and_hash(extra: int) -> None:
    size = len(assets().video) + extra
    data = b"".join(synthetic_video_chunks(size))
    assert len(data) == size
    assert hashlib.sha256(data).hexdigest() == synthetic_video_sha256(size)
    assert data[: min(size, len(assets().video))] == assets().video[:size]
    assert b"".join(synthetic_video_chunks(None)) == assets().video


def test_id_styles() -> None:
    rng = random.Random(1)
    slashy = new_aihubmix_id(rng, "slashy")
    assert "/" in slashy
    assert "+" in slashy
    assert "=" in slashy
    assert set(new_aihubmix_id(rng, "urlsafe")) <= set(string.ascii_letters + string.digits + "-_")
    assert new_aihubmix_id(rng, "openai").startswith("video_")
    with pytest.raises(ValueError, match="unknown id style"):
        new_aihubmix_id(rng, "weird")
