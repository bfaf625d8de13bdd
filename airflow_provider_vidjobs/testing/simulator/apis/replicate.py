"""Replicate predictions, simulated: everything vendor-specific in one module (routes under ``/v1/predictions``
and ``/v1/models``, Bearer auth, problem-details errors, the prediction JSON with progress in its logs,
cancel, 26-character ids, outputs in pre-signed storage, the default key).

Endpoints as Replicate's reference documents them (see ``docs/apis/replicate.md``):
``GET /v1/predictions/{id}``, ``POST /v1/predictions/{id}/cancel``, create by version
(``POST /v1/predictions``) or by official model (``POST /v1/models/{owner}/{name}/predictions``), and the
list (``GET /v1/predictions``: newest first, 100 a page, cursor URLs, ``created_after``/``created_before``).
Outputs come from the simulator's pre-signed storage (``/_storage/replicate/...``), as Replicate's come
from ``replicate.delivery``: a URL that needs no API token.

Longer than ~400 lines on purpose: one API is one module (the simulator's plug-in contract).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, quote, urlencode

from airflow_provider_vidjobs.testing.simulator.http import Request, Response, json_response
from airflow_provider_vidjobs.testing.simulator.jobs import COMPLETED, FAILED, QUEUED, RUNNING, Job
from airflow_provider_vidjobs.testing.simulator.routing import Routed, fixed
from airflow_provider_vidjobs.testing.simulator.spec import ContractFacts, InputError, SimApi
from airflow_provider_vidjobs.testing.simulator.stats import request_fingerprint
from airflow_provider_vidjobs.testing.simulator.storage import object_paths, storage_endpoint
from airflow_provider_vidjobs.testing.simulator.timeline import Timeline, TimelineError

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.state import SimState

REPLICATE = "replicate"
DEFAULT_KEY = "r8_sim-replicate-key"
EP_CREATE = "POST /v1/predictions"
EP_CREATE_MODEL = "POST /v1/models/{owner}/{name}/predictions"
EP_GET = "GET /v1/predictions/{prediction_id}"
EP_CANCEL = "POST /v1/predictions/{prediction_id}/cancel"
EP_LIST = "GET /v1/predictions"
#: Predictions per page of the list, as Replicate documents it (no parameter changes it).
PAGE_SIZE = 100
EP_STORAGE = storage_endpoint(REPLICATE)
DEFAULT_MODEL = "minimax/video-01"
DEFAULT_VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
WEB_URL = "https://replicate.com/p/{id}"
WIRE_STATUS = {QUEUED: "starting", RUNNING: "processing", COMPLETED: "succeeded", FAILED: "failed"}
CANCELED = "canceled"
#: ``output_shape`` of a job: the video URL as a string (most video models), a one-item list, or null.
OUTPUT_SHAPES = ("string", "list", "null")
PROBLEM = b"application/problem+json"
_UTC = dt.UTC


@dataclasses.dataclass
class ReplicateJob(Job):
    """A prediction: its model inputs, version, output shape, and when it was cancelled (its life stops there)."""

    input: dict[str, Any] = dataclasses.field(default_factory=dict)
    version: str = DEFAULT_VERSION
    output_shape: str = "string"
    canceled_at: float | None = None

    def _stopped(self, now: float) -> float:
        """The time the job's life is read at: ``now``, or the moment it was cancelled."""
        return now if self.canceled_at is None else min(now, self.canceled_at)

    def phase(self, now: float) -> tuple[str, float]:
        """The phase at ``now``; a cancelled prediction stays in the phase it had when cancelled."""
        return super().phase(self._stopped(now))

    def started_at(self, now: float) -> float | None:
        """When it left the queue (never, if it was cancelled while starting)."""
        return super().started_at(self._stopped(now))

    def canceled(self, now: float) -> bool:
        """True once a cancel has taken effect."""
        return self.canceled_at is not None and self.canceled_at <= now


def _rep(job: Job | None) -> ReplicateJob | None:
    """A routed job, as the prediction it is (this module's routes only ever find its own jobs)."""
    return cast("ReplicateJob | None", job)


# ----- errors: problem details, as Replicate answers ------------------------------------------------


def problem(status: int, title: str, detail: str) -> Response:
    """Replicate's error body: ``{"title", "detail", "status"}`` (``application/problem+json``)."""
    return Response(status, payload={"title": title, "detail": detail, "status": status}, content_type=PROBLEM)


def status_error(status: int, retry_after_s: float | None) -> Response:
    """The body of an injected ``http_error`` fault (the 429 text is the rate-limit page's)."""
    titles = {401: "Unauthenticated", 404: "Not found", 422: "Input validation failed", 429: "Too many requests"}
    if status == 429:
        wait = max(1, round(retry_after_s)) if retry_after_s is not None else 1
        unit = "second" if wait == 1 else "seconds"
        return problem(429, titles[429], f"Request was throttled. Expected available in {wait} {unit}.")
    if status >= 500:
        return problem(status, "Internal server error", "Something went wrong on our end (simulated).")
    return problem(status, titles.get(status, "Error"), f"HTTP {status} (simulated).")


def _not_found() -> Response:
    return problem(404, "Not found", "The requested resource could not be found.")


def _not_allowed() -> Response:
    return problem(405, "Method not allowed", "This method is not allowed for this endpoint.")


# ----- auth, ids ----------------------------------------------------------------------------------


def authenticate(state: SimState, req: Request) -> Response | None:
    """``Authorization: Bearer <token>`` (``Token <token>``, of Replicate's older docs, is accepted too).

    The token is never echoed back, not even masked.
    """
    header = req.header(b"authorization")
    scheme, _, token = (header or b"").decode("latin-1").strip().partition(" ")
    if scheme.lower() not in ("bearer", "token") or not token.strip():
        return problem(401, "Unauthenticated", "You did not pass an authentication token")
    if token.strip() not in state.keys[REPLICATE]:
        return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
    return None


def new_id(state: SimState) -> str:
    """A prediction id like Replicate's: 26 lowercase base32 characters (``gm3qorzdhgbfurvjtvhg6dckhu``)."""
    return base64.b32encode(state.rng.randbytes(20)).decode("ascii").lower()[:26]


# ----- routes -------------------------------------------------------------------------------------


def route(state: SimState, req: Request) -> Routed:
    """Match ``/v1/predictions[/{id}[/cancel]]`` (the bare path: create and list) and
    ``/v1/models/{owner}/{name}/predictions``."""
    segs, method = req.segments, req.method
    n = len(segs)
    if n == 5 and segs[1] == "models" and segs[4] == "predictions" and segs[2] and segs[3]:
        handler = create if method == "POST" else fixed(_not_allowed())
        return Routed(REPLICATE, EP_CREATE_MODEL, handler, authenticate)
    if n == 2 and segs[1] == "predictions":
        if method in ("GET", "HEAD"):
            return Routed(REPLICATE, EP_LIST, list_predictions, authenticate)
        return Routed(REPLICATE, EP_CREATE, create if method == "POST" else fixed(_not_allowed()), authenticate)
    if n in (3, 4) and segs[1] == "predictions" and segs[2]:
        job_id = segs[2]
        job = state.jobs.get(job_id, REPLICATE)
        if n == 3:
            handler = get_prediction if method in ("GET", "HEAD") else fixed(_not_allowed())
            return Routed(REPLICATE, EP_GET, handler, authenticate, job_id, job)
        if segs[3] == "cancel":
            handler = cancel if method == "POST" else fixed(_not_allowed())
            return Routed(REPLICATE, EP_CANCEL, handler, authenticate, job_id, job)
    return Routed(REPLICATE, "unmatched", fixed(_not_found()), authenticate)


# ----- the prediction object ----------------------------------------------------------------------


def iso(ts: float) -> str:
    """Replicate's timestamps: ISO 8601 with microseconds and ``Z``."""
    return dt.datetime.fromtimestamp(ts, _UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def logs(phase: str, progress: float) -> str:
    """tqdm-style lines, one per 10% reached and the current one, as diffusion models print them."""
    if phase == QUEUED:
        return ""
    steps = sorted({*range(0, int(progress) + 1, 10), int(progress)})
    lines = [f"{p:3d}%|{'#' * (p // 10):<10}| {p}/100 [00:00<00:00, 1.00it/s]" for p in steps]
    return "\n".join(["Running prediction...", *lines])


def prediction_json(state: SimState, job: ReplicateJob, base_url: str, now: float) -> dict[str, Any]:
    """The prediction as Replicate documents it, at simulated time ``now``."""
    phase, progress = job.phase(now)
    if phase == RUNNING:
        progress = job.noisy(progress)
    started = job.started_at(now)
    canceled = job.canceled(now)
    finished = job.canceled_at if canceled else job.finished_at(now)
    status = CANCELED if canceled else WIRE_STATUS[phase]
    removed = phase == COMPLETED and finished is not None and now > finished + job.timeline.assets_ttl_s
    output: Any = None
    if status == WIRE_STATUS[COMPLETED] and not removed and job.output_shape != "null":
        ttl = job.timeline.url_ttl_s if job.timeline.url_ttl_s is not None else state.url_ttl_s
        url = state.signer.url(base_url, object_paths(job)[0], int(now + ttl))
        output = [url] if job.output_shape == "list" else url
    api = f"{base_url}/v1/predictions/{quote(job.id, safe='')}"
    doc: dict[str, Any] = {
        "id": job.id,
        "model": job.model,
        "version": job.version,
        "input": job.input,
        "logs": logs(phase, progress),
        "output": output,
        "data_removed": removed,
        "error": job.timeline.error_message if status == WIRE_STATUS[FAILED] else None,
        "status": status,
        "created_at": iso(job.created),
        "started_at": iso(started) if started is not None else None,
        "completed_at": iso(finished) if finished is not None else None,
        "urls": {"cancel": f"{api}/cancel", "get": api, "web": WEB_URL.format(id=job.id)},
    }
    if finished is not None:  # metrics come with terminal predictions only
        predict = max(0.0, finished - started) if started is not None else 0.0
        doc["metrics"] = {"predict_time": round(predict, 6), "total_time": round(finished - job.created, 6)}
    return doc


def list_item(state: SimState, job: ReplicateJob, base_url: str, now: float) -> dict[str, Any]:
    """A prediction as the list shows it: the documented example's keys, i.e. the GET's without ``logs``,
    plus ``source`` (``"api"``; the simulator has no web-created predictions)."""
    item = prediction_json(state, job, base_url, now)
    item.pop("logs", None)
    item["source"] = "api"
    return item


# ----- handlers -----------------------------------------------------------------------------------


async def get_prediction(state: SimState, req: Request, routed: Routed) -> Response:
    """``GET /v1/predictions/{id}``."""
    job = _rep(routed.job)
    if job is None:
        return _not_found()
    return json_response(200, prediction_json(state, job, req.host_url, state.clock.now()))


async def list_predictions(state: SimState, req: Request, routed: Routed) -> Response:
    """``GET /v1/predictions[?created_after&created_before&cursor]``: ``{next, previous, results}``.

    Newest first, ``PAGE_SIZE`` a page. ``next`` and ``previous`` are URLs holding an opaque ``cursor`` (as
    Django REST framework's cursor pagination makes them: a position in the ordering, so a prediction
    created between two page reads shifts nothing) and the filters; null at either end. ``created_after``
    keeps predictions created at or after it, ``created_before`` those created before it (ISO 8601).
    """
    query = req.query
    try:
        since = _instant(query, "created_after")
        until = _instant(query, "created_before")
    except InvalidInput as exc:
        return problem(400, "Bad request", str(exc))
    jobs = [
        cast(ReplicateJob, j)
        for j in state.jobs.all(REPLICATE)
        if (since is None or j.created >= since) and (until is None or j.created < until)
    ]
    jobs.sort(key=lambda j: j.created, reverse=True)  # stable: same-instant jobs keep their order
    start, reverse = 0, False
    if query.get("cursor"):
        try:
            position, offset, reverse = _decode_cursor(query["cursor"])
        except ValueError:
            return problem(404, "Not found", "Invalid cursor")
        newer = sum(1 for j in jobs if j.created > position)
        start = newer + min(offset, sum(1 for j in jobs if j.created == position))
    first = max(0, start - PAGE_SIZE) if reverse else start
    page = jobs[first : first + PAGE_SIZE] if not reverse else jobs[first:start]
    end = first + len(page)
    base = req.host_url
    now = state.clock.now()
    return json_response(
        200,
        {
            "next": _page_url(base, query, jobs, end, reverse=False) if end < len(jobs) else None,
            "previous": _page_url(base, query, jobs, first, reverse=True) if first > 0 else None,
            "results": [list_item(state, j, base, now) for j in page],
        },
    )


def _instant(query: dict[str, str], name: str) -> float | None:
    """An ISO 8601 filter as unix seconds (no offset: UTC)."""
    text = query.get(name)
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: Enter a valid ISO 8601 date/time.") from None
    return (when if when.tzinfo else when.replace(tzinfo=_UTC)).timestamp()


def _page_url(base: str, query: dict[str, str], jobs: list[ReplicateJob], boundary: int, *, reverse: bool) -> str:
    """The list URL whose page starts (``reverse``: ends) at ``boundary``, an index into ``jobs`` > 0.

    The cursor names the boundary by the creation time of the prediction just before it and how many
    predictions of that same instant lie before it (DRF's position and offset)."""
    position = jobs[boundary - 1].created
    offset = sum(1 for j in jobs[:boundary] if j.created == position)
    tokens = {"p": repr(position), "o": str(offset), **({"r": "1"} if reverse else {})}
    cursor = base64.urlsafe_b64encode(urlencode(tokens).encode("ascii")).decode("ascii")
    params = {k: v for k, v in query.items() if k != "cursor"} | {"cursor": cursor}
    return f"{base}/v1/predictions?{urlencode(params)}"


def _decode_cursor(cursor: str) -> tuple[float, int, bool]:
    """(position, offset, reverse) of a cursor made by ``_page_url``; ``ValueError`` if it is not one."""
    try:
        tokens = dict(parse_qsl(base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii"), strict_parsing=True))
        position, offset = float(tokens["p"]), int(tokens["o"])
    except (KeyError, UnicodeError, ValueError, TypeError) as exc:
        raise ValueError("invalid cursor") from exc
    if offset < 0 or set(tokens) - {"p", "o", "r"}:
        raise ValueError("invalid cursor")
    return position, offset, tokens.get("r") == "1"


async def cancel(state: SimState, req: Request, routed: Routed) -> Response:
    """``POST /v1/predictions/{id}/cancel``: a starting or processing prediction becomes ``canceled``
    (counted in ``stats.stopped_jobs``); a finished one answers as it is."""
    job = _rep(routed.job)
    if job is None:
        return _not_found()
    now = state.clock.now()
    phase, _ = job.phase(now)
    if job.canceled_at is None and phase in (QUEUED, RUNNING):
        job.canceled_at = now
        state.stats.job_stopped(job.id, WIRE_STATUS[phase])
    return json_response(200, prediction_json(state, job, req.host_url, now))


async def create(state: SimState, req: Request, routed: Routed) -> Response:
    """``POST /v1/predictions`` {version, input} or ``POST /v1/models/{owner}/{name}/predictions`` {input}."""
    try:
        data = json.loads(await req.body() or b"{}")
    except ValueError:
        return problem(400, "Bad request", "The request body is not valid JSON.")
    if not isinstance(data, dict):
        return problem(422, "Input validation failed", "The request body must be a JSON object.")
    segs = req.segments
    if len(segs) == 5:
        data["model"] = f"{segs[2]}/{segs[3]}"
    elif not isinstance(data.get("version"), str) or not data["version"]:
        return problem(422, "Input validation failed", "- version: Invalid type. Expected: string, given: null")
    try:
        job = new_job(state, data)
    except InvalidInput as exc:
        return problem(422, "Input validation failed", str(exc))
    state.jobs.add(job)
    state.stats.created(request_fingerprint(REPLICATE, {k: v for k, v in data.items() if k != "sim"}), job.id)
    routed.job_id = job.id
    return json_response(201, prediction_json(state, job, req.host_url, state.clock.now()))


class InvalidInput(ValueError):
    """A 422: the body does not describe a prediction."""


def new_job(state: SimState, data: dict[str, Any], job_id: str | None = None) -> ReplicateJob:
    """Validate a create body (plus its ``sim`` timeline and ``output_shape``) into a job (not yet stored)."""
    inputs = data.get("input", {"prompt": data.get("prompt") or "a simulated video"})
    if not isinstance(inputs, dict):
        raise InvalidInput("- input: Invalid type. Expected: object")
    shape = data.get("output_shape", "string")
    if shape not in OUTPUT_SHAPES:
        raise InvalidInput(f"output_shape must be one of {', '.join(OUTPUT_SHAPES)}")
    version = str(data.get("version") or DEFAULT_VERSION)
    model = str(data.get("model") or (version.split(":", 1)[0] if ":" in version else DEFAULT_MODEL))
    try:
        timeline: Timeline = state.default_timeline.updated(data.get("sim") or {})
    except TimelineError as exc:
        raise InvalidInput(str(exc)) from None
    pid = job_id or new_id(state)
    prompt = inputs.get("prompt")
    return ReplicateJob(
        api=REPLICATE,
        id=pid,
        created=state.clock.now(),
        timeline=timeline,
        prompt=prompt if isinstance(prompt, str) else "",
        model=model,
        rng=state.rng,
        video_id=f"out-{pid}",
        input=inputs,
        version=version.rsplit(":", 1)[-1],
        output_shape=str(shape),
    )


# ----- what the core calls ------------------------------------------------------------------------


def _control_job(state: SimState, data: dict[str, Any], job_id: str | None, id_style: str | None) -> Job:
    """A job made through the control API (prediction ids have one style; an explicit id is taken as is)."""
    try:
        return new_job(state, data, job_id)
    except InvalidInput as exc:
        raise InputError(str(exc)) from None


def _view(state: SimState, job: Job, base_url: str, now: float) -> tuple[dict[str, Any], dict[str, str]]:
    """The control view's vendor JSON and paths (the id percent-encoded, as clients send it)."""
    prediction = f"/v1/predictions/{quote(job.id, safe='')}"
    paths = {"prediction": prediction, "cancel": f"{prediction}/cancel", "video": object_paths(job)[0]}
    return prediction_json(state, cast(ReplicateJob, job), base_url, now), paths


SPEC = SimApi(
    name=REPLICATE,
    label="Replicate",
    prefixes=("/v1/predictions", "/v1/models"),
    default_key=DEFAULT_KEY,
    route=route,
    status_error=status_error,
    new_job=_control_job,
    view=_view,
    contract=ContractFacts(
        job_endpoint=EP_GET,
        asset_endpoint=EP_STORAGE,
        list_endpoint=EP_LIST,
        fixture="replicate_get_prediction.json",
        sample_id="gm3qorzdhgbfurvjtvhg6dckhu",
        wire_statuses=WIRE_STATUS,
        drift={
            "kind": "drift",
            "extra": {
                "source": "api",
                "deadline": "2030-01-01T00:00:00.000000Z",
                "new_top_level": {"nested": [1, 2]},
                "metrics": {"predict_time": "0.2", "image_count": 1},
            },
            "remove": ["data_removed", "version"],
            "nulls": ["input.prompt", "model", "logs", "started_at", "urls.web"],
        },
        prompt_field="input.prompt",
        create_request={"model": "acme/video-model", "input": {"prompt": "a fox in the snow", "seconds": 5}},
        file_fields=("output",),
        file_means_done=False,
        reports_error=False,
    ),
)
