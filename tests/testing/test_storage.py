"""Pre-signed storage URLs: valid, expired, tampered, with an Authorization header; large assets."""

from __future__ import annotations

import hashlib
import struct
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle, synthetic_video_chunks, synthetic_video_sha256
from airflow_provider_vidjobs.testing.simulator.storage import assets

from .conftest import ah_auth, ah_video_path, tp_auth, tp_job_path


def _done_job(sim: SimulatorHandle, http: httpx.Client, **timeline: object) -> dict[str, object]:
    job = sim.control.create_job("tensorpix", sim={"queued_s": 0, "running_s": 0, **timeline})
    body: dict[str, object] = http.get(tp_job_path(job["id"]), headers=tp_auth(sim)).json()
    assert body["status"] == "completed"
    return body


def _top_level_boxes(data: bytes) -> list[tuple[bytes, int]]:
    """Walk the MP4's top-level boxes; they must tile the file exactly."""
    boxes, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        assert size >= 8
        boxes.append((kind, size))
        pos += size
    assert pos == len(data)
    return boxes


def test_valid_url_downloads_without_credentials(sim: SimulatorHandle, http: httpx.Client) -> None:
    video = _done_job(sim, http)["generated_video"]
    resp = httpx.get(video["file"], trust_env=False)  # type: ignore[index]
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "video/mp4"
    assert int(resp.headers["content-length"]) == video["size"] == len(resp.content)  # type: ignore[index]
    kinds = [k for k, _ in _top_level_boxes(resp.content)]
    assert kinds[0] == b"ftyp"
    assert b"moov" in kinds
    assert b"mdat" in kinds
    assert "/api/" not in urlsplit(video["file"]).path  # type: ignore[index]


def test_expired_url_is_refused_and_a_new_get_signs_afresh(sim: SimulatorHandle, http: httpx.Client) -> None:
    body = _done_job(sim, http, url_ttl_s=5)
    old = body["generated_video"]["file"]  # type: ignore[index]
    sim.control.advance_clock(6)
    expired = httpx.get(old, trust_env=False)
    assert expired.status_code == 403
    assert expired.headers["content-type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in expired.text
    assert "Request has expired" in expired.text
    fresh = http.get(tp_job_path(str(body["id"])), headers=tp_auth(sim)).json()["generated_video"]["file"]
    assert fresh != old
    assert httpx.get(fresh, trust_env=False).status_code == 200


def test_tampered_urls_are_refused(sim: SimulatorHandle, http: httpx.Client) -> None:
    url = _done_job(sim, http)["generated_video"]["file"]  # type: ignore[index]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}"
    bad_sig = f"{base}{parts.path}?expires={query['expires']}&signature={'0' * 64}"
    longer = f"{base}{parts.path}?expires={int(query['expires']) + 3600}&signature={query['signature']}"
    other_file = f"{base}{parts.path[:-4]}.jpg?expires={query['expires']}&signature={query['signature']}"
    unsigned = f"{base}{parts.path}"
    for tampered in (bad_sig, longer, other_file):
        resp = httpx.get(tampered, trust_env=False)
        assert resp.status_code == 403, tampered
        assert "<Code>SignatureDoesNotMatch</Code>" in resp.text, tampered
    assert httpx.get(unsigned, trust_env=False).status_code == 403


def test_authorization_header_on_storage_is_a_leak(sim: SimulatorHandle, http: httpx.Client) -> None:
    url = _done_job(sim, http)["generated_video"]["file"]  # type: ignore[index]
    leaked = httpx.get(url, headers=tp_auth(sim), trust_env=False)
    assert leaked.status_code == 400
    assert "<Code>InvalidArgument</Code>" in leaked.text
    assert "API key was sent to a storage URL" in leaked.text
    assert sim.control.stats()["storage_auth_leaks"] == 1
    assert httpx.get(url, trust_env=False).status_code == 200
    assert sim.control.stats()["storage_auth_leaks"] == 1


def test_large_synthetic_asset_streams_with_exact_size_and_hash(sim: SimulatorHandle, http: httpx.Client) -> None:
    size = 5 * 1024 * 1024 + 123
    body = _done_job(sim, http, asset_size_bytes=size)
    video, job_id = body["generated_video"], str(body["id"])
    assert video["size"] == size  # type: ignore[index]
    digest, got, head = hashlib.sha256(), 0, b""
    with httpx.stream("GET", video["file"], trust_env=False) as resp:  # type: ignore[index]
        assert int(resp.headers["content-length"]) == size
        for chunk in resp.iter_bytes():
            if len(head) < 64 * 1024:
                head += chunk[: 64 * 1024]
            digest.update(chunk)
            got += len(chunk)
    assert got == size
    assert digest.hexdigest() == synthetic_video_sha256(size, job_id)
    assert head[4:8] == b"ftyp"

    ah = sim.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0, "asset_size_bytes": size})
    content = http.get(ah_video_path(ah["id"], "/content"), headers=ah_auth(sim))
    assert len(content.content) == size
    assert hashlib.sha256(content.content).hexdigest() == synthetic_video_sha256(size, ah["id"])
    kinds = [k for k, _ in _top_level_boxes(content.content)]
    assert kinds[-1] == b"free"
    assert b"moov" in kinds


def test_range_requests_resume_a_cut_download(sim: SimulatorHandle, http: httpx.Client) -> None:
    size = 3 * 1024 * 1024 + 7
    body = _done_job(sim, http, asset_size_bytes=size)
    url, job_id = body["generated_video"]["file"], str(body["id"])  # type: ignore[index]
    sim.control.add_job_faults(str(body["id"]), {"kind": "reset", "reset_after_bytes": 1_500_000, "count": 1})
    received = b""
    with (  # noqa: PT012 - the cut comes mid-stream, after some chunks arrived
        pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        httpx.stream("GET", url, trust_env=False) as resp,
    ):
        assert resp.headers["accept-ranges"] == "bytes"
        for chunk in resp.iter_raw():
            received += chunk
    assert 0 < len(received) <= 1_500_000
    rest = httpx.get(url, headers={"Range": f"bytes={len(received)}-"}, trust_env=False)
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes {len(received)}-{size - 1}/{size}"
    assert hashlib.sha256(received + rest.content).hexdigest() == synthetic_video_sha256(size, job_id)
    middle = httpx.get(url, headers={"Range": "bytes=10-19"}, trust_env=False)
    assert middle.status_code == 206
    assert middle.content == b"".join(synthetic_video_chunks(size, job_id=job_id))[10:20]
    tail = httpx.get(url, headers={"Range": "bytes=-5"}, trust_env=False)
    assert tail.content == b"".join(synthetic_video_chunks(size, job_id=job_id))[-5:]
    beyond = httpx.get(url, headers={"Range": f"bytes={size}-"}, trust_env=False)
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"


@pytest.mark.parametrize("size", [None, 5 * 1024 * 1024 + 123])
def test_every_jobs_video_is_distinct_and_still_a_whole_mp4(
    sim: SimulatorHandle, http: httpx.Client, size: int | None
) -> None:
    """Downstream steps tell videos apart by content: two jobs never serve the same file."""
    files = []
    for _ in range(2):
        body = _done_job(sim, http, **({} if size is None else {"asset_size_bytes": size}))
        data = httpx.get(body["generated_video"]["file"], trust_env=False).content  # type: ignore[index]
        assert len(data) == body["generated_video"]["size"]  # type: ignore[index]
        assert data == b"".join(synthetic_video_chunks(size, job_id=str(body["id"])))
        kinds = [kind for kind, _ in _top_level_boxes(data)]  # the boxes tile the file exactly
        assert kinds[:4] == [b"ftyp", b"moov", b"free", b"mdat"]
        assert data[8:12] == assets().video[8:12]  # same brand: only the informative minor_version differs
        assert data[16 : len(assets().video)] == assets().video[16:]  # the same frames, at the same offsets
        files.append(data)
    assert hashlib.sha256(files[0]).digest() != hashlib.sha256(files[1]).digest()
