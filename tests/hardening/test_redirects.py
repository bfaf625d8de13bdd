"""Redirects never carry the API key to another origin.

Raw servers stand in for the API (127.0.0.1) and for another host (127.0.0.2, or 127.0.0.1 on another
port) and record every header they receive. The API's own job GETs never follow a redirect (the
request fails clearly, and the other host is never contacted); downloads follow redirects (CDNs,
object storage) but the ``Authorization`` header stays behind on the API's origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import VideoAPIError

from ._harness import CANARY_KEY, PROVIDERS, contract, files_in
from ._servers import RawServer, Seen, json_bytes, reply

TP_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
AHM_ID = "video_68d7512d07848190b3e45da0ecbebcde"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"v" * 5000


def aihubmix_doc() -> dict[str, Any]:
    return {
        "id": AHM_ID,
        "object": "video",
        "model": "sora-2",
        "status": "completed",
        "progress": 100,
        "created_at": 1795446636,
        "completed_at": 1795446700,
        "expires_at": 1895533036,
        "prompt": "p",
        "size": "720x1280",
        "seconds": "4",
        "remixed_from_video_id": None,
        "error": None,
    }


def tensorpix_doc(file_url: str) -> dict[str, Any]:
    return {
        "id": TP_ID,
        "status": "completed",
        "progress": 100,
        "generated_video": {"id": TP_ID, "file": file_url, "size": len(VIDEO), "created_at": "2026-01-01T00:00:00Z"},
    }


def serve_video(seen: Seen, conn: Any, server: RawServer) -> None:
    reply(conn, 200, VIDEO, {"content-type": "video/mp4"})


@pytest.fixture(params=["127.0.0.2", "127.0.0.1"], ids=["other-host", "same-host-other-port"])
def elsewhere(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    """The other origin a redirect points at; it answers with the video and records the headers."""
    with RawServer(serve_video, host=request.param) as server:
        yield server


def auth_headers(server: RawServer) -> list[str]:
    return [seen.headers["authorization"] for seen in server.requests if "authorization" in seen.headers]


@pytest.mark.parametrize("path", ["trigger", "poke", "download"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_redirected_job_get_is_not_followed(
    elsewhere: RawServer, define_connection: Any, run: Any, tmp_path: Path, path: str, provider: str
) -> None:
    target = f"{elsewhere.url}/steal?from=api"

    def api(seen: Seen, conn: Any, server: RawServer) -> None:
        reply(conn, 302, b"", {"location": target})

    with RawServer(api) as api_server:
        define_connection("redirecting", provider, api_server.url)
        job_id = contract(provider).facts.sample_id
        outcome = run(path, provider, job_id, conn_id="redirecting")
    assert isinstance(outcome.error, VideoAPIError)
    text = outcome.message
    assert f"{provider} job {job_id}" in text
    assert "unexpected HTTP status 302" in text
    assert f"redirect to {target}" in text
    assert auth_headers(api_server)  # the key did go to the API itself ...
    assert elsewhere.requests == []  # ... and nothing at all went to the other origin
    assert files_in(tmp_path) == []


def test_aihubmix_content_redirect_is_followed_without_the_key(
    elsewhere: RawServer, define_connection: Any, run: Any
) -> None:
    def api(seen: Seen, conn: Any, server: RawServer) -> None:
        if seen.path.endswith("/content?variant=video"):
            reply(conn, 302, b"", {"location": f"{elsewhere.url}/cdn/{AHM_ID}.mp4?token=abc"})
        else:
            reply(conn, 200, json_bytes(aihubmix_doc()), {"content-type": "application/json"})

    with RawServer(api) as api_server:
        define_connection("ahm", "aihubmix", api_server.url)
        outcome = run("download", "aihubmix", AHM_ID, conn_id="ahm")
    assert outcome.ok, outcome.message
    assert outcome.value["bytes"] == len(VIDEO)
    assert [seen.path for seen in elsewhere.requests] == [f"/cdn/{AHM_ID}.mp4?token=abc"]
    assert auth_headers(elsewhere) == []
    assert auth_headers(api_server) == [f"Bearer {CANARY_KEY}"] * 2  # the job GET and the content GET


def test_tensorpix_storage_redirect_never_carries_the_key(
    elsewhere: RawServer, define_connection: Any, run: Any
) -> None:
    def storage(seen: Seen, conn: Any, server: RawServer) -> None:
        reply(conn, 307, b"", {"location": f"{elsewhere.url}/bucket/{TP_ID}.mp4?X-Amz-Signature=1"})

    with RawServer(storage, host="127.0.0.1") as storage_server:

        def api(seen: Seen, conn: Any, server: RawServer) -> None:
            doc = tensorpix_doc(f"{storage_server.url}/_storage/{TP_ID}.mp4?expires=9999999999&signature=x")
            reply(conn, 200, json_bytes(doc), {"content-type": "application/json"})

        with RawServer(api) as api_server:
            define_connection("tp", "tensorpix", api_server.url)
            outcome = run("download", "tensorpix", TP_ID, conn_id="tp")
    assert outcome.ok, outcome.message
    assert outcome.value["bytes"] == len(VIDEO)
    assert len(storage_server.requests) == 1
    assert len(elsewhere.requests) == 1
    assert auth_headers(storage_server) == []
    assert auth_headers(elsewhere) == []
    assert auth_headers(api_server) == [f"Token {CANARY_KEY}"]
