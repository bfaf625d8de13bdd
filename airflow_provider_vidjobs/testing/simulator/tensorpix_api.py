"""TensorPix video-gen endpoints, shaped like ``tensorpix_get_video_gen_job.txt`` (a Django REST
framework API): ``GET /api/video-gen/jobs/{id}/``, ``GET /api/video-gen/videos/{id}/`` and the
SIMULATED create ``POST /api/video-gen/jobs/`` (the real create call is undocumented).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from airflow_provider_vidjobs.testing.simulator import errors
from airflow_provider_vidjobs.testing.simulator.forms import BodyError, parse_body
from airflow_provider_vidjobs.testing.simulator.http import Request, Response, json_response
from airflow_provider_vidjobs.testing.simulator.ids import new_uuid
from airflow_provider_vidjobs.testing.simulator.jobs import COMPLETED, RUNNING, TENSORPIX, Job
from airflow_provider_vidjobs.testing.simulator.routing import Routed, fixed
from airflow_provider_vidjobs.testing.simulator.state import SimState
from airflow_provider_vidjobs.testing.simulator.storage import assets, video_size
from airflow_provider_vidjobs.testing.simulator.timeline import TimelineError

EP_CREATE = "POST /api/video-gen/jobs/"
EP_JOB = "GET /api/video-gen/jobs/{id}/"
EP_VIDEO = "GET /api/video-gen/videos/{id}/"
DEFAULT_MODEL = "tensorpix-video-gen-1"
JOB_TYPES = ("t2v", "i2v")
_UTC = dt.UTC


def iso(ts: float) -> str:
    """DRF's datetime format: ISO 8601 with microseconds and ``Z``."""
    return dt.datetime.fromtimestamp(ts, _UTC).isoformat().replace("+00:00", "Z")


def authenticate(state: SimState, req: Request) -> Response | None:
    """DRF TokenAuthentication: ``Authorization: Token <key>`` (keyword case-insensitive)."""
    header = req.header(b"authorization")
    parts = header.split() if header else []
    if not parts or parts[0].lower() != b"token":
        return errors.tp_unauthorized(errors.TP_NOT_PROVIDED)
    if len(parts) == 1:
        return errors.tp_unauthorized("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        return errors.tp_unauthorized("Invalid token header. Token string should not contain spaces.")
    if parts[1].decode("latin-1") not in state.keys[TENSORPIX]:
        return errors.tp_unauthorized(errors.TP_INVALID_TOKEN)
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
    return Routed(TENSORPIX, "unmatched", fixed(errors.django_html_404()))


def _not_allowed(method: str, allow: str) -> Response:
    return errors.tp_detail(405, f'Method "{method}" not allowed.', [(b"allow", allow.encode())])


async def get_job(state: SimState, req: Request, routed: Routed) -> Response:
    """The job JSON (404 ``{"detail": "Not found."}`` for unknown or malformed ids)."""
    job = routed.job
    if job is None:
        return errors.tp_detail(404, errors.TP_NOT_FOUND)
    return json_response(200, job_json(state, job, req.host_url))


async def get_video(state: SimState, req: Request, routed: Routed) -> Response:
    """The generated-video JSON; exists once the job completed."""
    job = routed.job
    now = state.clock.now()
    if job is None or job.phase(now)[0] != COMPLETED:
        return errors.tp_detail(404, errors.TP_NOT_FOUND)
    return json_response(200, video_json(state, job, req.host_url, now))


async def create(state: SimState, req: Request, routed: Routed) -> Response:
    """SIMULATED ``POST /api/video-gen/jobs/`` (JSON or form): 201 with the job JSON."""
    try:
        data = parse_body(await req.body(), (req.header(b"content-type") or b"application/json").decode("latin-1"))
        job = new_job(state, data)
    except BodyError as exc:
        return errors.tp_detail(400, f"JSON parse error - {exc}")
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


def new_job(state: SimState, data: dict[str, Any], job_id: str | None = None) -> Job:
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
    return Job(
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


def job_json(state: SimState, job: Job, base_url: str) -> dict[str, Any]:
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


def storage_paths(job: Job) -> tuple[str, str]:
    """Storage paths of the video file and its thumbnail."""
    base = f"/_storage/tensorpix/{job.id}/{job.video_id}"
    return base + ".mp4", base + ".jpg"


def video_json(state: SimState, job: Job, base_url: str, now: float) -> dict[str, Any]:
    """The generated-video object, with freshly signed storage URLs."""
    facts = assets()
    ttl = job.timeline.url_ttl_s if job.timeline.url_ttl_s is not None else state.url_ttl_s
    expires = int(now + ttl)
    file_path, thumb_path = storage_paths(job)
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
