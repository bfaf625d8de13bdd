"""AIHubMix, simulated: the OpenAI-shaped Videos API as AIHubMix serves it (create, retrieve, list,
content, delete and remix under ``/v1/videos``), Bearer auth, the OpenAI error envelope, its opaque
base64-like ids, the ``x-request-id`` header and the default key: everything vendor-specific.

Longer than ~400 lines on purpose: one API is one module (the simulator's plug-in contract).
"""

from __future__ import annotations

import base64
import dataclasses
import random
import re
import secrets
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from airflow_provider_vidjobs.testing.simulator.errors import reason
from airflow_provider_vidjobs.testing.simulator.forms import BodyError, UploadedFile, parse_body
from airflow_provider_vidjobs.testing.simulator.http import HeaderList, Request, Response, StreamBody, json_response
from airflow_provider_vidjobs.testing.simulator.jobs import COMPLETED, FAILED, QUEUED, RUNNING, Job
from airflow_provider_vidjobs.testing.simulator.routing import Routed, fixed
from airflow_provider_vidjobs.testing.simulator.spec import ApiOption, ContractFacts, InputError, SimApi
from airflow_provider_vidjobs.testing.simulator.stats import request_fingerprint
from airflow_provider_vidjobs.testing.simulator.storage import assets, synthetic_video_chunks, video_size
from airflow_provider_vidjobs.testing.simulator.timeline import Timeline, TimelineError

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.state import SimState

AIHUBMIX = "aihubmix"
DEFAULT_KEY = "sk-sim-aihubmix-key"
ID_STYLE = "aihubmix_id_style"

EP_CREATE = "POST /v1/videos"
EP_LIST = "GET /v1/videos"
EP_RETRIEVE = "GET /v1/videos/{video_id}"
EP_DELETE = "DELETE /v1/videos/{video_id}"
EP_CONTENT = "GET /v1/videos/{video_id}/content"
EP_REMIX = "POST /v1/videos/{video_id}/remix"
DEFAULT_MODEL = "sora-2"
WIRE_STATUS = {QUEUED: "queued", RUNNING: "in_progress", COMPLETED: "completed", FAILED: "failed"}
_SIZE_WXH = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_SIZE_P = re.compile(r"^(\d{3,4})[pP]$")
_P_WIDTH = {360: 640, 480: 854, 540: 960, 720: 1280, 1080: 1920, 1440: 2560, 2160: 3840}

#: Styles of ids: AIHubMix ids are long standard-base64 strings, some holding ``/``, ``+`` and ``=``, which
#: clients must percent-encode in a path. ``base64``: standard base64 of 40 random bytes (always ends in
#: ``==``, often ``/`` and ``+``); ``slashy``: like base64 but always contains ``/``, ``+`` and ``=``;
#: ``urlsafe``: only ``[A-Za-z0-9_-]``; ``openai``: ``video_<hex>`` like OpenAI's own ids.
ID_STYLES = ("base64", "slashy", "urlsafe", "openai")


def new_aihubmix_id(rng: random.Random, style: str = "base64") -> str:
    """A new AIHubMix video id in the given style (see ``ID_STYLES``)."""
    raw = rng.randbytes(40)
    if style == "base64":
        return base64.b64encode(raw).decode("ascii")
    if style == "slashy":
        text = base64.b64encode(raw).decode("ascii")
        # Force one '/' and one '+' in the body; 40 bytes always end with "==" padding.
        return text[:8] + "/" + text[9:20] + "+" + text[21:]
    if style == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    if style == "openai":
        return "video_" + raw[:24].hex()
    raise ValueError(f"unknown id style {style!r}; expected one of {', '.join(ID_STYLES)}")


@dataclasses.dataclass
class AIHubMixJob(Job):
    """An AIHubMix video: size, seconds, quality, what it was remixed from, its input reference."""

    size: str = "720x1280"
    seconds: str = "4"
    quality: str = "standard"
    remixed_from: str | None = None
    input_reference: dict[str, Any] | None = None


def _ah(job: Job | None) -> AIHubMixJob | None:
    """A routed job, as the AIHubMix job it is (this module's routes only ever find its own jobs)."""
    return cast("AIHubMixJob | None", job)


def openai_error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> Response:
    """The OpenAI error envelope."""
    return json_response(status, {"error": {"message": message, "type": type_, "param": param, "code": code}})


def openai_missing_key() -> Response:
    """401 when no Bearer key was sent."""
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )


def openai_invalid_key(key: str) -> Response:
    """401 for an unknown or revoked key (the key is masked as OpenAI does)."""
    masked = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
    return openai_error(401, f"Incorrect API key provided: {masked}.", code="invalid_api_key")


def openai_not_found(video_id: str) -> Response:
    """404 for an unknown or deleted video id."""
    return openai_error(404, f"Video with id '{video_id}' not found.", param="video_id", code="not_found")


def openai_status_error(status: int) -> Response:
    """OpenAI-shaped body for an injected status."""
    if status == 429:
        return openai_error(
            429,
            "Rate limit reached for requests. Please try again later.",
            type_="requests",
            code="rate_limit_exceeded",
        )
    if status >= 500:
        messages = {
            500: "The server had an error while processing your request. Sorry about that!",
            502: "Bad gateway.",
            503: "The server is overloaded or not ready yet.",
            504: "Gateway timeout.",
        }
        return openai_error(status, messages.get(status, reason(status)), type_="server_error")
    if status == 401:
        return openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
    if status == 404:
        return openai_error(404, "Not found (simulated).", code="not_found")
    return openai_error(status, f"{reason(status)} (simulated).")


def request_id_header() -> HeaderList:
    """The ``x-request-id`` AIHubMix puts on every response."""
    return [(b"x-request-id", b"req_" + secrets.token_hex(16).encode())]


def authenticate(state: SimState, req: Request) -> Response | None:
    """``Authorization: Bearer <key>``."""
    header = req.header(b"authorization")
    if not header:
        return openai_missing_key()
    scheme, _, key = header.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return openai_missing_key()
    if key.strip() not in state.keys[AIHUBMIX]:
        return openai_invalid_key(key.strip())
    return None


def route(state: SimState, req: Request) -> Routed:
    """Match ``/v1/videos[/{id}[/content|/remix]]``; the id is one raw segment, percent-decoded."""
    segs = req.segments
    n = len(segs)
    method = req.method
    if n >= 2 and segs[1] == "videos":
        if n == 2:
            if method == "POST":
                return Routed(AIHUBMIX, EP_CREATE, create, authenticate)
            if method in ("GET", "HEAD"):
                return Routed(AIHUBMIX, EP_LIST, list_videos, authenticate)
            return _bad_method(req, EP_LIST)
        video_id = segs[2]
        if video_id and n <= 4:
            job = state.jobs.get(video_id, AIHUBMIX)
            if n == 3:
                if method in ("GET", "HEAD"):
                    return Routed(AIHUBMIX, EP_RETRIEVE, retrieve, authenticate, video_id, job)
                if method == "DELETE":
                    return Routed(AIHUBMIX, EP_DELETE, delete, authenticate, video_id, job)
                return _bad_method(req, EP_RETRIEVE, video_id)
            if segs[3] == "content":
                if method in ("GET", "HEAD"):
                    return Routed(AIHUBMIX, EP_CONTENT, content, authenticate, video_id, job)
                return _bad_method(req, EP_CONTENT, video_id)
            if segs[3] == "remix":
                if method == "POST":
                    return Routed(AIHUBMIX, EP_REMIX, remix, authenticate, video_id, job)
                return _bad_method(req, EP_REMIX, video_id)
    invalid = openai_error(404, f"Invalid URL ({method} {req.raw_path})")
    return Routed(AIHUBMIX, "unmatched", fixed(invalid), authenticate)


def _bad_method(req: Request, endpoint: str, job_id: str | None = None) -> Routed:
    body = openai_error(405, f"Invalid method for URL ({req.method} {req.raw_path})")
    return Routed(AIHUBMIX, endpoint, fixed(body), authenticate, job_id)


def video_json(state: SimState, job: AIHubMixJob, now: float | None = None) -> dict[str, Any]:
    """The Video object: every documented key, plus the extras AIHubMix sends."""
    now = state.clock.now() if now is None else now
    phase, progress = job.phase(now)
    if phase == RUNNING:
        progress = job.noisy(progress)
    finished = job.finished_at(now)
    width, height = _dimensions(job.size)
    return {
        "id": job.id,
        "object": "video",
        "model": job.model,
        "status": WIRE_STATUS[phase],
        "progress": int(progress),
        "created_at": int(job.created),
        "completed_at": int(finished) if finished is not None else None,
        "expires_at": int(finished + job.timeline.assets_ttl_s) if phase == COMPLETED and finished else None,
        "prompt": job.prompt,
        "size": job.size,
        "seconds": job.seconds,
        "remixed_from_video_id": job.remixed_from,
        "error": (
            {"code": job.timeline.error_code, "message": job.timeline.error_message} if phase == FAILED else None
        ),
        "quality": job.quality,
        "duration": _duration(job.seconds),
        "width": width,
        "height": height,
    }


def _dimensions(size: str) -> tuple[int | None, int | None]:
    match = _SIZE_WXH.match(size)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = _SIZE_P.match(size)
    if match:
        p = int(match.group(1))
        return _P_WIDTH.get(p, p * 16 // 9), p
    return None, None


def _duration(seconds: str) -> int | float:
    value = float(seconds)
    return int(value) if value.is_integer() else value


def _video_response(state: SimState, job: AIHubMixJob, status: int = 200) -> Response:
    resp = json_response(status, video_json(state, job))
    hint = job.timeline.poll_after_ms if job.timeline.poll_after_ms is not None else state.poll_after_ms
    if hint is not None:
        resp.headers.append((b"openai-poll-after-ms", str(hint).encode()))
    return resp


async def retrieve(state: SimState, req: Request, routed: Routed) -> Response:
    """``GET /v1/videos/{id}``."""
    job = _ah(routed.job)
    if job is None:
        return openai_not_found(routed.job_id or "")
    return _video_response(state, job)


async def delete(state: SimState, req: Request, routed: Routed) -> Response:
    """``DELETE /v1/videos/{id}``: the job is gone afterwards (GETs answer 404); one still queued or in
    progress stops there (counted in ``stats.stopped_jobs``)."""
    if routed.job is None:
        return openai_not_found(routed.job_id or "")
    phase, _ = routed.job.phase(state.clock.now())
    if phase not in (COMPLETED, FAILED):
        state.stats.job_stopped(routed.job.id, WIRE_STATUS[phase])
    state.jobs.delete(routed.job.id)
    return json_response(200, {"id": routed.job.id, "object": "video.deleted", "deleted": True})


async def list_videos(state: SimState, req: Request, routed: Routed) -> Response:
    """``GET /v1/videos?limit&order&after``: a cursor page."""
    query = req.query
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        limit = -1
    if not 0 <= limit <= 100:
        return openai_error(400, "Invalid 'limit': must be an integer between 0 and 100.", param="limit")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        return openai_error(400, "Invalid 'order': expected 'asc' or 'desc'.", param="order")
    jobs = list(state.jobs.all(AIHUBMIX))
    if order == "desc":
        jobs.reverse()
    after = query.get("after")
    if after:
        ids = [j.id for j in jobs]
        jobs = jobs[ids.index(after) + 1 :] if after in ids else []
    page = jobs[:limit]
    now = state.clock.now()
    data = [video_json(state, cast(AIHubMixJob, j), now) for j in page]
    return json_response(
        200,
        {
            "object": "list",
            "data": data,
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": len(jobs) > len(page),
        },
    )


async def content(state: SimState, req: Request, routed: Routed) -> Response:
    """``GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet``: the bytes."""
    job = routed.job
    if job is None:
        return openai_not_found(routed.job_id or "")
    variant = req.query.get("variant", "video")
    if variant not in ("video", "thumbnail", "spritesheet"):
        return openai_error(400, "Invalid 'variant': expected one of video, thumbnail, spritesheet.", param="variant")
    now = state.clock.now()
    phase, _ = job.phase(now)
    if phase != COMPLETED:
        return openai_error(
            400, f"Video is not ready yet (status: {WIRE_STATUS[phase]}).", param="video_id", code="video_not_ready"
        )
    finished = job.finished_at(now) or now
    if now > finished + job.timeline.assets_ttl_s:
        return openai_error(404, "The video content has expired.", param="video_id", code="video_expired")
    files = assets()
    if variant == "thumbnail":
        return Response(200, body=files.thumbnail_webp, content_type=b"image/webp")
    if variant == "spritesheet":
        return Response(200, body=files.spritesheet_jpg, content_type=b"image/jpeg")
    size = job.timeline.asset_size_bytes
    stream = StreamBody(video_size(size), lambda: synthetic_video_chunks(size, job_id=job.id))
    return Response(200, stream=stream, content_type=b"video/mp4")


async def create(state: SimState, req: Request, routed: Routed) -> Response:
    """``POST /v1/videos`` (multipart as the openai SDK sends it, or JSON)."""
    try:
        data = parse_body(await req.body(), (req.header(b"content-type") or b"application/json").decode("latin-1"))
        job = new_job(state, data)
    except BodyError as exc:
        return openai_error(400, f"We could not parse the body of your request: {exc}")
    except InvalidParam as exc:
        return openai_error(400, exc.message, param=exc.param, code=exc.code)
    state.jobs.add(job)
    state.stats.created(request_fingerprint(AIHUBMIX, data), job.id)
    routed.job_id = job.id
    return _video_response(state, job)


async def remix(state: SimState, req: Request, routed: Routed) -> Response:
    """``POST /v1/videos/{id}/remix`` {prompt}: a new video remixed from a completed one."""
    source = _ah(routed.job)
    if source is None:
        return openai_not_found(routed.job_id or "")
    try:
        data = parse_body(await req.body(), (req.header(b"content-type") or b"application/json").decode("latin-1"))
        if source.phase(state.clock.now())[0] != COMPLETED:
            raise InvalidParam("video_id", "Only completed videos can be remixed.", "invalid_request")
        job = new_job(
            state,
            {"model": source.model, "size": source.size, "seconds": source.seconds, **data},
            remixed_from=source.id,
        )
    except BodyError as exc:
        return openai_error(400, f"We could not parse the body of your request: {exc}")
    except InvalidParam as exc:
        return openai_error(400, exc.message, param=exc.param, code=exc.code)
    state.jobs.add(job)
    state.stats.created(request_fingerprint(AIHUBMIX, {"remix_of": source.id, **data}), job.id)
    return _video_response(state, job)


class InvalidParam(ValueError):
    """A 400 naming the offending parameter."""

    def __init__(self, param: str, message: str, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.param = param
        self.message = message
        self.code = code


def new_job(
    state: SimState,
    data: dict[str, Any],
    *,
    remixed_from: str | None = None,
    job_id: str | None = None,
    id_style: str | None = None,
) -> AIHubMixJob:
    """Validate a create body (plus its ``sim`` timeline) into a job (not yet stored)."""
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise InvalidParam("prompt", "Missing required parameter: 'prompt'.", "missing_required_parameter")
    if len(prompt) > 32000:
        raise InvalidParam("prompt", "Invalid 'prompt': string too long (max 32000 characters).")
    seconds = data.get("seconds", "4")
    if isinstance(seconds, bool) or not _positive_number(seconds):
        raise InvalidParam("seconds", f"Invalid 'seconds': {seconds!r} is not a positive number of seconds.")
    size = str(data.get("size") or "720x1280")
    if not (_SIZE_WXH.match(size) or _SIZE_P.match(size)):
        raise InvalidParam("size", f"Invalid 'size': {size!r}; expected WIDTHxHEIGHT such as 720x1280, or 720p.")
    ref = data.get("input_reference")
    reference: dict[str, Any] | None = None
    if isinstance(ref, UploadedFile):
        reference = {"filename": ref.filename, "content_type": ref.content_type, "bytes": ref.size}
    elif isinstance(ref, dict) and (ref.get("image_url") or ref.get("file_id")):
        reference = {k: ref[k] for k in ("image_url", "file_id") if ref.get(k)}
    elif ref not in (None, ""):
        raise InvalidParam("input_reference", "Invalid 'input_reference': expected a file, {image_url} or {file_id}.")
    try:
        timeline: Timeline = state.default_timeline.updated(data.get("sim") or {})
    except TimelineError as exc:
        raise InvalidParam("sim", str(exc)) from None
    try:
        vid = job_id or new_aihubmix_id(state.rng, id_style or state.options[ID_STYLE])
    except ValueError as exc:
        raise InvalidParam("id_style", str(exc)) from None
    return AIHubMixJob(
        api=AIHUBMIX,
        id=vid,
        created=state.clock.now(),
        timeline=timeline,
        prompt=prompt,
        model=str(data.get("model") or DEFAULT_MODEL),
        rng=state.rng,
        size=size,
        seconds=_seconds_text(seconds),
        quality=str(data.get("quality") or "standard"),
        remixed_from=remixed_from,
        input_reference=reference,
    )


def _positive_number(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _seconds_text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)


def _control_job(state: SimState, data: dict[str, Any], job_id: str | None, id_style: str | None) -> Job:
    """A job made through the control API (an explicit id, or an id style of ``ID_STYLES``)."""
    try:
        return new_job(state, data, job_id=job_id, id_style=id_style)
    except InvalidParam as exc:
        raise InputError(f"{exc.param}: {exc.message}") from None


def _view(state: SimState, job: Job, base_url: str, now: float) -> tuple[dict[str, Any], dict[str, str]]:
    """The control view's vendor JSON and paths (the id percent-encoded, as clients send it)."""
    quoted = quote(job.id, safe="")
    paths = {"video": f"/v1/videos/{quoted}", "content": f"/v1/videos/{quoted}/content"}
    return video_json(state, cast(AIHubMixJob, job), now), paths


SPEC = SimApi(
    name=AIHUBMIX,
    label="AIHubMix",
    prefixes=("/v1",),
    default_key=DEFAULT_KEY,
    route=route,
    status_error=lambda status, retry_after_s: openai_status_error(status),
    new_job=_control_job,
    view=_view,
    contract=ContractFacts(
        job_endpoint=EP_RETRIEVE,
        asset_endpoint=EP_CONTENT,
        list_endpoint=EP_LIST,
        fixture="aihubmix_retrieve_video.json",
        sample_id="5fWV19OuBTZ4Uh6PkLTb8491Ys1/SdrYAJjsi+xp7jam1crb04v/oA==",
        wire_statuses=WIRE_STATUS,
        drift={
            "kind": "drift",
            "extra": {"progress": "100", "created_at": "1795446636", "width": "720", "audio": True},
            "remove": ["expires_at", "remixed_from_video_id", "quality"],
            "nulls": ["prompt", "size", "model"],
            "seconds_as_number": True,
        },
        job_fields={"id_style": "slashy"},
        create_request={"prompt": "a fox in the snow", "model": "sora-2", "seconds": "8", "size": "1280x720"},
    ),
    response_headers=request_id_header,
    options=(ApiOption(ID_STYLE, "base64", "style of AIHubMix ids", ID_STYLES),),
)
