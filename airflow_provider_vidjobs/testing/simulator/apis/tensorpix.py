"""TensorPix, simulated: everything vendor-specific in one module (routes under ``/api``, DRF token auth
and error bodies, the job JSON, UUID ids, pre-signed storage URLs, the default key).

Endpoints shaped like ``tensorpix_get_video_gen_job.txt`` (a Django REST framework API):
``GET /api/video-gen/jobs/{id}/``, ``GET /api/video-gen/videos/{id}/`` and the SIMULATED create
``POST /api/video-gen/jobs/`` (the real create call is undocumented).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING, Any, cast

from airflow_provider_vidjobs.testing.simulator.errors import HTML, nginx_html, reason
from airflow_provider_vidjobs.testing.simulator.forms import BodyError, parse_body
from airflow_provider_vidjobs.testing.simulator.http import HeaderList, Request, Response, json_response, text_response
from airflow_provider_vidjobs.testing.simulator.ids import new_uuid
from airflow_provider_vidjobs.testing.simulator.jobs import COMPLETED, RUNNING, Job
from airflow_provider_vidjobs.testing.simulator.routing import Routed, fixed
from airflow_provider_vidjobs.testing.simulator.spec import ContractFacts, InputError, SimApi
from airflow_provider_vidjobs.testing.simulator.storage import assets, object_paths, storage_endpoint, video_size
from airflow_provider_vidjobs.testing.simulator.timeline import DEFAULT_STATUSES, TimelineError

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.state import SimState

TENSORPIX = "tensorpix"
DEFAULT_KEY = "sim-tensorpix-key"
EP_CREATE = "POST /api/video-gen/jobs/"
EP_JOB = "GET /api/video-gen/jobs/{id}/"
EP_VIDEO = "GET /api/video-gen/videos/{id}/"
EP_STORAGE = storage_endpoint(TENSORPIX)
DEFAULT_MODEL = "tensorpix-video-gen-1"
JOB_TYPES = ("t2v", "i2v")
_UTC = dt.UTC


@dataclasses.dataclass
class TensorPixJob(Job):
    """A TensorPix job: its type, options, input images and cost (``video_id`` names its generated video)."""

    kind: str = "t2v"
    options: Any = dataclasses.field(default_factory=dict)
    input_images: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    cost: str = "0.00"


TP_NOT_PROVIDED = "Authentication credentials were not provided."
TP_INVALID_TOKEN = "Invalid token."  # noqa: S105 - DRF's message, not a secret
TP_NOT_FOUND = "Not found."

_DJANGO_404 = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
    "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"
)
_DJANGO_500 = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n'
    "  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)


def tp_detail(status: int, detail: str, headers: HeaderList | None = None) -> Response:
    """A DRF error: ``{"detail": "..."}``."""
    return json_response(status, {"detail": detail}, headers)


def tp_unauthorized(detail: str) -> Response:
    """DRF TokenAuthentication's 401, with its ``WWW-Authenticate: Token`` challenge."""
    return tp_detail(401, detail, [(b"www-authenticate", b"Token")])


def django_html_404() -> Response:
    """Django's own 404 page (DEBUG off) for a path no URL pattern matches."""
    return text_response(404, _DJANGO_404, HTML)


def tp_status_error(status: int, retry_after_s: float | None) -> Response:
    """What TensorPix would plausibly send for an injected status: DRF JSON below 500, HTML above."""
    if status == 500:
        return text_response(500, _DJANGO_500, HTML)
    if status > 500:
        return nginx_html(status)
    if status == 429:
        if retry_after_s is not None:
            return tp_detail(429, f"Request was throttled. Expected available in {round(retry_after_s)} seconds.")
        return tp_detail(429, "Request was throttled.")
    if status == 401:
        return tp_unauthorized(TP_INVALID_TOKEN)
    if status == 404:
        return tp_detail(404, TP_NOT_FOUND)
    return tp_detail(status, f"{reason(status)} (simulated).")


def iso(ts: float) -> str:
    """DRF's datetime format: ISO 8601 with microseconds and ``Z``."""
    return dt.datetime.fromtimestamp(ts, _UTC).isoformat().replace("+00:00", "Z")


def authenticate(state: SimState, req: Request) -> Response | None:
    """DRF TokenAuthentication: ``Authorization: Token <key>`` (keyword case-insensitive)."""
    header = req.header(b"authorization")
    parts = header.split() if header else []
    if not parts or parts[0].lower() != b"token":
        return tp_unauthorized(TP_NOT_PROVIDED)
    if len(parts) == 1:
        return tp_unauthorized("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        return tp_unauthorized("Invalid token header. Token string should not contain spaces.")
    if parts[1].decode("latin-1") not in state.keys[TENSORPIX]:
        return tp_unauthorized(TP_INVALID_TOKEN)
    return None


def route(state: SimState, req: Request) -> Routed:
    """Match ``/api/video-gen/...`` like Django's URL resolver with DRF's ``[^/.]+`` lookups."""
    segs = req.segments
    n = len(segs)
    if n >= 4 and segs[1] == "video-gen" and segs[2] in ("jobs", "videos"):
        collection = segs[2]
        if n == 4 and collection == "jobs" and segs[3] == "":
            if req.method == "POST":
                return Routed(TENSORPIX, EP_CREATE, create, authenticate)
            return Routed(TENSORPIX, EP_CREATE, fixed(_not_allowed(req.method, "POST, OPTIONS")), authenticate)
        lookup = segs[3]
        if lookup and "." not in lookup and "/" not in lookup:
            if n == 4 and req.method in ("GET", "HEAD"):
                # Django's APPEND_SLASH: redirect to the canonical URL with a trailing slash.
                query: bytes = req.scope.get("query_string", b"")
                location = req.raw_path + "/" + ("?" + query.decode("latin-1") if query else "")
                return Routed(
                    TENSORPIX, "redirect", fixed(Response(301, body=b"", headers=[(b"location", location.encode())]))
                )
            if n == 5 and segs[4] == "":
                endpoint = EP_JOB if collection == "jobs" else EP_VIDEO
                job = state.jobs.get(lookup, TENSORPIX) if collection == "jobs" else state.jobs.by_video_id(lookup)
                job_id = job.id if job is not None else lookup
                if req.method not in ("GET", "HEAD"):
                    return Routed(
                        TENSORPIX,
                        endpoint,
                        fixed(_not_allowed(req.method, "GET, HEAD, OPTIONS")),
                        authenticate,
                        job_id,
                        job,
                    )
                handler = get_job if collection == "jobs" else get_video
                return Routed(TENSORPIX, endpoint, handler, authenticate, job_id, job)
    return Routed(TENSORPIX, "unmatched", fixed(django_html_404()))


def _not_allowed(method: str, allow: str) -> Response:
    return tp_detail(405, f'Method "{method}" not allowed.', [(b"allow", allow.encode())])


async def get_job(state: SimState, req: Request, routed: Routed) -> Response:
    """The job JSON (404 ``{"detail": "Not found."}`` for unknown or malformed ids)."""
    job = _tp(routed.job)
    if job is None:
        return tp_detail(404, TP_NOT_FOUND)
    return json_response(200, job_json(state, job, req.host_url))


async def get_video(state: SimState, req: Request, routed: Routed) -> Response:
    """The generated-video JSON; exists once the job completed."""
    job = _tp(routed.job)
    now = state.clock.now()
    if job is None or job.phase(now)[0] != COMPLETED:
        return tp_detail(404, TP_NOT_FOUND)
    return json_response(200, video_json(state, job, req.host_url, now))


async def create(state: SimState, req: Request, routed: Routed) -> Response:
    """SIMULATED ``POST /api/video-gen/jobs/`` (JSON or form): 201 with the job JSON."""
    try:
        data = parse_body(await req.body(), (req.header(b"content-type") or b"application/json").decode("latin-1"))
        job = new_job(state, data)
    except BodyError as exc:
        return tp_detail(400, f"JSON parse error - {exc}")
    except ValidationProblem as exc:
        return json_response(400, exc.errors)
    state.jobs.add(job)
    routed.job_id = job.id
    return json_response(201, job_json(state, job, req.host_url))


class ValidationProblem(ValueError):
    """DRF-style field errors: ``{"field": ["message"]}``."""

    def __init__(self, errors_: dict[str, list[str]]) -> None:
        super().__init__(str(errors_))
        self.errors = errors_


def _tp(job: Job | None) -> TensorPixJob | None:
    """A routed job, as the TensorPix job it is (this module's routes only ever find its own jobs)."""
    return cast("TensorPixJob | None", job)


def new_job(state: SimState, data: dict[str, Any], job_id: str | None = None) -> TensorPixJob:
    """Validate a create body (plus its ``sim`` timeline) into a job (not yet stored)."""
    problems: dict[str, list[str]] = {}
    prompt = data.get("prompt")
    if prompt is None or prompt == "":
        problems["prompt"] = ["This field is required."]
    elif not isinstance(prompt, str):
        problems["prompt"] = ["Not a valid string."]
    elif len(prompt) > 2048:
        problems["prompt"] = ["Ensure this field has no more than 2048 characters."]
    kind = data.get("type", "t2v")
    if kind not in JOB_TYPES:
        problems["type"] = [f'"{kind}" is not a valid choice.']
    images = data.get("input_images", [])
    if not isinstance(images, list):
        problems["input_images"] = [f'Expected a list of items but got type "{type(images).__name__}".']
        images = []
    try:
        timeline = state.default_timeline.updated(data.get("sim") or {})
    except TimelineError as exc:
        problems["sim"] = [str(exc)]
    if job_id is not None:
        try:
            job_id = str(uuid.UUID(job_id))
        except ValueError:
            problems["id"] = ["Must be a valid UUID."]
    if problems:
        raise ValidationProblem(problems)
    rng = state.rng
    return TensorPixJob(
        api=TENSORPIX,
        id=job_id or new_uuid(rng),
        created=state.clock.now(),
        timeline=timeline,
        prompt=str(prompt),
        model=str(data.get("model") or DEFAULT_MODEL),
        rng=rng,
        kind=str(kind),
        options=data.get("options", {}),
        input_images=[_image(rng, item) for item in images],
        cost=str(data.get("cost") or ("3.00" if kind == "i2v" else "2.50")),
        video_id=new_uuid(rng),
    )


def _image(rng: Any, item: Any) -> dict[str, Any]:
    """An ``input_images`` entry from a URL string or a ``{file, name}`` object."""
    if isinstance(item, dict):
        return {"id": str(item.get("id") or new_uuid(rng)), "file": item.get("file"), "name": item.get("name")}
    text = str(item)
    return {"id": new_uuid(rng), "file": text, "name": text.rsplit("/", 1)[-1] or "image"}


def job_json(state: SimState, job: TensorPixJob, base_url: str) -> dict[str, Any]:
    """The job as TensorPix documents it, at the current simulated time."""
    now = state.clock.now()
    phase, progress = job.phase(now)
    if phase == RUNNING:
        progress = job.noisy(progress)
    started = job.started_at(now)
    return {
        "id": job.id,
        "prompt": job.prompt,
        "type": job.kind,
        "status": job.timeline.statuses[phase],
        "cost": job.cost,
        "model": job.model,
        "generated_video": video_json(state, job, base_url, now) if phase == COMPLETED else None,
        "input_images": job.input_images,
        "progress": round(progress, 1),
        "started_at": iso(started) if started is not None else None,
        "options": job.options,
    }


def video_json(state: SimState, job: Job, base_url: str, now: float) -> dict[str, Any]:
    """The generated-video object, with freshly signed storage URLs."""
    facts = assets()
    ttl = job.timeline.url_ttl_s if job.timeline.url_ttl_s is not None else state.url_ttl_s
    expires = int(now + ttl)
    file_path, thumb_path = object_paths(job)
    finished = job.finished_at(now)
    return {
        "id": job.video_id,
        "name": f"generated_{job.video_id[:8]}.mp4",
        "created_at": iso(finished if finished is not None else now),
        "job": job.id,
        "uploaded_video": None,
        "width": facts.width,
        "height": facts.height,
        "n_frames": facts.n_frames,
        "framerate": facts.framerate,
        "size": video_size(job.timeline.asset_size_bytes),
        "file": state.signer.url(base_url, file_path, expires),
        "thumbnail": state.signer.url(base_url, thumb_path, expires),
    }


def _control_job(state: SimState, data: dict[str, Any], job_id: str | None, id_style: str | None) -> Job:
    """A job made through the control API (TensorPix ids have one style: UUIDs)."""
    try:
        return new_job(state, data, job_id)
    except ValidationProblem as exc:
        raise InputError(json.dumps(exc.errors)) from None


def _view(state: SimState, job: Job, base_url: str, now: float) -> tuple[dict[str, Any], dict[str, str]]:
    """The control view's vendor JSON and paths."""
    paths = {"job": f"/api/video-gen/jobs/{job.id}/", "video": f"/api/video-gen/videos/{job.video_id}/"}
    return job_json(state, cast(TensorPixJob, job), base_url), paths


SPEC = SimApi(
    name=TENSORPIX,
    label="TensorPix",
    prefixes=("/api",),
    default_key=DEFAULT_KEY,
    route=route,
    status_error=tp_status_error,
    new_job=_control_job,
    view=_view,
    contract=ContractFacts(
        job_endpoint=EP_JOB,
        asset_endpoint=EP_STORAGE,
        fixture="tensorpix_get_video_gen_job.json",
        sample_id="3c90c3cc-0d44-4b50-8888-8dd25736052a",
        wire_statuses=DEFAULT_STATUSES,
        drift={
            "kind": "drift",
            "extra": {"new_top_level": {"nested": [1, 2]}, "progress": "100", "cost": 2.5},
            "remove": ["options", "input_images"],
            "nulls": ["prompt", "model", "started_at", "generated_video.thumbnail", "generated_video.n_frames"],
        },
        file_fields=("generated_video",),
        file_means_done=True,
        reports_error=False,
    ),
)
