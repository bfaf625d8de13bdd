"""The official openai SDK, pointed at the simulator's /v1, works end to end and parses every answer."""

from __future__ import annotations

import warnings

import httpx
import openai
import pytest
from openai.types import Video, VideoDeleteResponse

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from .conftest import FAST

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def client(sim: SimulatorHandle) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=sim.openai_base_url, api_key=sim.aihubmix_key, max_retries=0, http_client=httpx.Client(trust_env=False)
    )


def _strict(video: Video) -> Video:
    """Re-validate with pydantic (the SDK constructs without validation) to prove the shape is exact."""
    return Video.model_validate(video.model_dump())


def test_create_poll_list_download(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        video = client.videos.create(
            prompt="a cat on a skateboard", seconds="8", size="1280x720", extra_body={"sim": FAST}
        )
    assert video.status == "queued"
    assert video.progress == 0
    assert video.object == "video"
    assert video.model == "sora-2"
    assert video.seconds == "8"
    assert video.size == "1280x720"
    _strict(video)

    done = client.videos.poll(video.id, poll_interval_ms=20)
    assert done.status == "completed"
    assert done.progress == 100
    assert done.completed_at is not None
    assert done.expires_at is not None
    assert done.error is None
    _strict(done)
    assert done.model_extra is not None
    assert done.model_extra["width"] == 1280

    page = client.videos.list(limit=10)
    assert [v.id for v in page.data] == [video.id]
    for item in page.data:
        _strict(item)

    content = client.videos.download_content(video.id)
    data = content.read()
    assert data[4:8] == b"ftyp"
    assert len(data) > 1000
    thumb = client.videos.download_content(video.id, variant="thumbnail").read()
    assert thumb[:4] == b"RIFF"
    assert thumb[8:12] == b"WEBP"
    sprite = client.videos.download_content(video.id, variant="spritesheet").read()
    assert sprite[:3] == b"\xff\xd8\xff"

    deleted = client.videos.delete(video.id)
    assert isinstance(deleted, VideoDeleteResponse)
    assert deleted.deleted
    assert deleted.object == "video.deleted"
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


def test_sdk_multipart_sends_file_and_sim_fields(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    video = client.videos.create(
        prompt="animate this",
        input_reference=("ref.png", b"\x89PNG\r\n\x1a\nfake", "image/png"),
        extra_body={"sim": {"queued_s": 0, "running_s": 100, "statuses": {"running": "Generating"}}},
    )
    assert video.status == "in_progress"  # queued_s=0: starts in_progress, as the docs allow
    job = sim.control.job(video.id)
    assert job["timeline"]["running_s"] == 100.0
    assert job["timeline"]["statuses"]["running"] == "Generating"


def test_sdk_encodes_slash_ids_and_simulator_routes_them(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    """The SDK percent-encodes '/' (not '+' or '='); the raw-path router keeps the id in one piece."""
    job_id = "abc/def+ghi=/content"
    sim.control.create_job("aihubmix", id=job_id, sim={"queued_s": 0, "running_s": 0})
    video = client.videos.retrieve(job_id)
    assert video.id == job_id
    assert video.status == "completed"
    assert client.videos.download_content(job_id).read()[4:8] == b"ftyp"
    sent = client.videos.with_raw_response.retrieve(job_id)
    assert sent.http_request.url.raw_path == b"/v1/videos/abc%2Fdef+ghi=%2Fcontent"
    stats = sim.control.stats()
    assert stats["jobs"][job_id]["endpoints"]["GET /v1/videos/{video_id}"]["requests"] == 2
    assert stats["jobs"][job_id]["endpoints"]["GET /v1/videos/{video_id}/content"]["requests"] == 1


def test_slashy_style_ids_round_trip(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    made = sim.control.create_job("aihubmix", id_style="slashy", sim={"queued_s": 0, "running_s": 0})
    vid = made["id"]
    assert "/" in vid
    assert "+" in vid
    assert vid.endswith("=")
    assert len(vid) >= 40
    assert client.videos.retrieve(vid).id == vid


def test_remix(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    src = sim.control.create_job("aihubmix", seconds="12", sim={"queued_s": 0, "running_s": 0})
    remixed = client.videos.remix(src["id"], prompt="now in the rain")
    _strict(remixed)
    assert remixed.remixed_from_video_id == src["id"]
    assert remixed.id != src["id"]
    assert remixed.seconds == "12"
    assert remixed.prompt == "now in the rain"


def test_sdk_poll_reads_poll_after_hint(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    made = sim.control.create_job("aihubmix", sim={"queued_s": 0.1, "running_s": 0.1, "poll_after_ms": 30})
    raw = client.videos.with_raw_response.retrieve(made["id"])
    assert raw.headers["openai-poll-after-ms"] == "30"
    assert client.videos.poll(made["id"]).status == "completed"


def test_sdk_errors_parse(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    bad = openai.OpenAI(
        base_url=sim.openai_base_url, api_key="sk-wrong", max_retries=0, http_client=httpx.Client(trust_env=False)
    )
    with pytest.raises(openai.AuthenticationError) as info:
        bad.videos.list()
    assert info.value.code == "invalid_api_key"
    assert info.value.request_id
    assert info.value.request_id.startswith("req_")
    with pytest.raises(openai.BadRequestError) as bad_req:
        client.videos.create(prompt="x", seconds="zero")  # type: ignore[arg-type]
    assert bad_req.value.param == "seconds"
    failed = sim.control.create_job(
        "aihubmix", sim={"queued_s": 0, "running_s": 0, "outcome": "failed", "error_code": "moderation_blocked"}
    )
    video = client.videos.retrieve(failed["id"])
    assert video.status == "failed"
    assert video.error is not None
    assert video.error.code == "moderation_blocked"
    _strict(video)


def test_list_pagination_cursor(sim: SimulatorHandle, client: openai.OpenAI) -> None:
    ids = [sim.control.create_job("aihubmix", prompt=f"v{i}")["id"] for i in range(5)]
    first = client.videos.list(limit=2, order="asc")
    assert [v.id for v in first.data] == ids[:2]
    assert first.has_more
    every = [v.id for v in client.videos.list(limit=2, order="asc")]  # auto-pagination through `after`
    assert every == ids
    newest = client.videos.list(limit=1)
    assert [v.id for v in newest.data] == [ids[-1]]
