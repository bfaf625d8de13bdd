"""Replicate predictions: the wire model, the status table, normalization and :class:`ReplicateHook`.

API: ``GET /v1/predictions/{id}``, ``POST /v1/predictions/{id}/cancel`` and ``POST /v1/predictions`` with
``Authorization: Bearer <token>``. Everything Replicate-specific lives in this module; the reference and
what it leaves open are in ``docs/apis/replicate.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import BeforeValidator, field_validator, model_validator

from airflow_provider_vidjobs.hooks.base import AssetSource, VideoJobHook, path_segment
from airflow_provider_vidjobs.hooks.listing import same_value, scan_newest_first
from airflow_provider_vidjobs.hooks.requests import CreateRequest, as_params
from airflow_provider_vidjobs.models import (
    COMMON_SPELLINGS,
    GeneratedVideo,
    IsoTime,
    JobError,
    JobStatus,
    LenientFloat,
    LenientStr,
    StatusMapper,
    VideoJob,
    WireModel,
    clamp_progress,
    status_key,
)

PROVIDER = "replicate"  # its conn type in hooks/registry.HOOKS
#: Replicate's own API host: only a connection to it gets the ``replicate.com/p/{id}`` link by default.
API_HOST = "api.replicate.com"
WEB_URL = "https://replicate.com/p/{id}"

#: The documented statuses, on top of the common spellings. ``aborted`` (a deadline passed before the
#: prediction started; nothing billed) is a cancellation, like ``canceled`` after a deadline once started.
STATUS_TABLE: Mapping[str, JobStatus] = {
    **COMMON_SPELLINGS,
    "starting": JobStatus.QUEUED,
    "processing": JobStatus.RUNNING,
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "canceled": JobStatus.CANCELLED,
    "aborted": JobStatus.CANCELLED,
}

#: A percentage in the logs (tqdm bars write `` 45%|####5     | 45/100``); the last one is the progress.
_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s?%")
_VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".m4v", ".mkv", ".avi", ".gif")
NO_VIDEO = "no_video_output"


# ----- wire model: the prediction object, tolerant ----------------------------------------------


def _mapping_or_none(value: Any) -> Any:
    """A nested object that is not an object (a string, a list) reads as absent instead of failing the job."""
    return value if isinstance(value, Mapping) else None


def _bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


class ReplicateUrls(WireModel):
    get: LenientStr = None
    cancel: LenientStr = None
    #: The prediction's page on replicate.com (in the OpenAPI schema; absent from older examples).
    web: LenientStr = None
    stream: LenientStr = None


class ReplicateMetrics(WireModel):
    #: Seconds of CPU/GPU time the prediction ran (terminal predictions only), queueing excluded.
    predict_time: LenientFloat = None
    total_time: LenientFloat = None


class ReplicatePrediction(WireModel):
    id: str
    model: LenientStr = None
    version: LenientStr = None
    status: LenientStr = None
    input: Annotated[dict[str, Any] | None, BeforeValidator(_mapping_or_none)] = None
    #: Any JSON: a URL, a list of URLs, an object, text or a number, depending on the model.
    output: Any = None
    #: A string per the schema; tolerated as an object too.
    error: Any = None
    logs: LenientStr = None
    data_removed: Annotated[bool | None, BeforeValidator(_bool_or_none)] = None
    created_at: IsoTime = None
    started_at: IsoTime = None
    completed_at: IsoTime = None
    deployment: LenientStr = None
    source: LenientStr = None
    metrics: Annotated[ReplicateMetrics | None, BeforeValidator(_mapping_or_none)] = None
    urls: Annotated[ReplicateUrls | None, BeforeValidator(_mapping_or_none)] = None


# ----- mapping to the normalized model ----------------------------------------------------------


def progress_from_logs(logs: str | None) -> float | None:
    """The last ``NN%`` in the logs (Replicate has no progress field), clamped to 0-100; None if there is none."""
    if not logs:
        return None
    found = _PERCENT.findall(logs[-65536:])
    return clamp_progress(float(found[-1])) if found else None


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("https://", "http://"))


def _looks_like_video(url: str) -> bool:
    return urlsplit(url.strip()).path.lower().endswith(_VIDEO_SUFFIXES)


def video_url(output: Any) -> str | None:
    """The video in ``output``: the URL itself, or the first video-looking URL of a list or an object's values
    (else their first URL); None when there is no URL at all (text, numbers, null)."""
    if _is_url(output):
        return str(output).strip()
    items = list(output.values()) if isinstance(output, Mapping) else output if isinstance(output, list) else []
    urls = [str(item).strip() for item in items if _is_url(item)]
    return next((url for url in urls if _looks_like_video(url)), urls[0] if urls else None)


def _error(raw: Any) -> JobError | None:
    if isinstance(raw, Mapping):
        code, message = raw.get("code"), raw.get("message") or raw.get("detail")
        if code is None and message is None:
            return None
        return JobError(code=None if code is None else str(code), message=None if message is None else str(message))
    if isinstance(raw, str) and raw.strip():
        return JobError(message=raw.strip())
    return None


def _no_video(wire: ReplicatePrediction) -> JobError:
    """Why a succeeded prediction has nothing to hand downstream, in words a user can act on."""
    if wire.data_removed:
        why = "its output was deleted (Replicate deletes API outputs after an hour)"
    elif wire.output is None:
        why = "its output is null"
    else:
        why = f"its output ({type(wire.output).__name__}) holds no URL: is {wire.model or 'the model'} a video model?"
    return JobError(code=NO_VIDEO, message=f"the prediction succeeded but {why}")


def _says_succeeded(raw: str | None) -> bool:
    """True when Replicate's own status means succeeded (not a status the user's overrides map to it)."""
    return raw is not None and STATUS_TABLE.get(status_key(raw)) is JobStatus.SUCCEEDED


def normalize(wire: ReplicatePrediction, mapper: StatusMapper) -> VideoJob:
    """The normalized job. A prediction Replicate calls succeeded without a video URL is FAILED
    (``no_video_output``); a status the user maps to succeeded is taken at their word."""
    status = mapper.map(wire.status)
    url = video_url(wire.output)
    error = _error(wire.error) if status in (JobStatus.FAILED, JobStatus.CANCELLED) else None
    if status is JobStatus.SUCCEEDED and url is None and _says_succeeded(wire.status):
        status, error = JobStatus.FAILED, _no_video(wire)
    metrics, urls = wire.metrics or ReplicateMetrics(), wire.urls or ReplicateUrls()
    prompt = (wire.input or {}).get("prompt")
    return VideoJob(
        provider=PROVIDER,
        job_id=wire.id,
        status=status,
        vendor_status=wire.status,
        progress=100.0 if status is JobStatus.SUCCEEDED else progress_from_logs(wire.logs),
        prompt=prompt if isinstance(prompt, str) else None,
        model=wire.model,
        created_at=wire.created_at,
        started_at=wire.started_at,
        completed_at=wire.completed_at,
        video=GeneratedVideo(url=url) if status is JobStatus.SUCCEEDED and url else None,
        error=error,
        # The task's "Video job" link: only a web URL (the UI renders it as a link).
        web_url=urls.web.strip() if urls.web and _is_url(urls.web) else None,
        extras={
            k: v
            for k, v in {
                "version": wire.version,
                "predict_time_s": metrics.predict_time,
                "total_time_s": metrics.total_time,
                "data_removed": wire.data_removed,
                "deployment": wire.deployment,
            }.items()
            if v is not None
        },
    )


# ----- the orphan lookup: which listed prediction a create request made --------------------------


def made_by(wire: ReplicatePrediction, request: Mapping[str, Any]) -> bool:
    """Whether a listed prediction is what ``request`` (create_prediction's arguments) would have made.

    Its model (``owner/name``) and version id must agree where both sides name one, and every input the
    request gave must be echoed unchanged. Replicate deletes an API prediction's input after an hour
    (``data_removed``): then the model, version and creation time are all there is to go on.
    """
    version = request.get("version")
    model = request.get("model") or (str(version).split(":", 1)[0] if version and ":" in str(version) else None)
    version_id = str(version).rsplit(":", 1)[-1] if version else None
    if not same_value(model, wire.model):
        return False
    if wire.version not in (None, "hidden") and not same_value(version_id, wire.version):
        return False
    asked = request.get("input")
    if wire.input is None or not isinstance(asked, Mapping):
        return wire.input is None
    return all(key in wire.input and wire.input[key] == value for key, value in asked.items())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _next_cursor(page: Mapping[str, Any]) -> dict[str, str] | None:
    """The ``cursor`` of a list page's ``next`` URL: only it is sent on, to our own path (never the URL's host)."""
    next_url = page.get("next")
    if not isinstance(next_url, str) or not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get("cursor")
    return {"cursor": values[0]} if values else None


# ----- the create request ----------------------------------------------------------------------


class ReplicatePredictionRequest(CreateRequest):
    """``POST /v1/predictions`` (``version``) or ``POST /v1/models/{owner}/{name}/predictions`` (``model``).

    :param input: the model's inputs (``{"prompt": ...}`` and whatever else the model documents).
    :param version: a version id or ``owner/name:id``; give exactly one of ``version`` and ``model``.
    :param model: ``owner/name`` of an official model (always its latest version).
    :param extra_params: more top-level fields of the request body (``webhook``...), passed through.
    """

    input: Annotated[dict[str, Any], BeforeValidator(lambda value: as_params(value, "input"))]
    version: str | None = None
    model: str | None = None
    extra_params: Annotated[dict[str, Any], BeforeValidator(as_params)] = {}

    @field_validator("model")
    @classmethod
    def _owner_and_name(cls, value: str | None) -> str | None:
        owner, _, name = (value or "x/y").partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"model must look like 'owner/name', not {value!r}")
        return value

    @model_validator(mode="after")
    def _version_or_model(self) -> ReplicatePredictionRequest:
        if (self.version is None) == (self.model is None):
            raise ValueError("give exactly one of version ('owner/name:id' or a version id) or model ('owner/name')")
        return self


# ----- the hook ---------------------------------------------------------------------------------


class ReplicateHook(VideoJobHook, api="replicate"):
    """Reads Replicate predictions. Connection: host = base URL (optional), password = API token."""

    wire_model = ReplicatePrediction
    request_model = ReplicatePredictionRequest
    probe_job_id = "vidjobs-connection-test"
    #: ``POST /v1/predictions/{id}/cancel``: retried like a read (cancelling twice is harmless).
    cancel_method = "POST"

    @classmethod
    def status_table(cls) -> Mapping[str, Any]:
        return STATUS_TABLE

    def job_path(self, job_id: str, root: str) -> str:
        return f"{root}/predictions/{path_segment(job_id)}"

    def cancel_path(self, job_id: str, root: str) -> str:
        """``/v1/predictions/{id}/cancel`` (the ``urls.cancel`` of every prediction); a 404 counts as stopped."""
        return f"{self.job_path(job_id, root)}/cancel"

    def normalize(self, wire: Any, api_url: str) -> VideoJob:
        return normalize(wire, self.status_mapper)

    def job_web_url(self, job_id: str) -> str | None:
        """Before any answer (whose ``urls.web`` the link prefers): the connection's ``web_url_template``,
        else the prediction's page when the host is Replicate's own."""
        template = super().job_web_url(job_id)
        if template or urlsplit(self.settings.base_url).hostname != API_HOST:
            return template
        return WEB_URL.format(id=path_segment(job_id))

    def create_prediction(
        self,
        *,
        input: Mapping[str, Any],
        version: str | None = None,
        model: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> VideoJob:
        """Start a prediction: ``model="owner/name"`` (an official model) or ``version`` (an id or ``owner/name:id``).

        Not retried on 5xx or timeouts: the prediction may already exist, and a second one would be billed.
        """
        if (version is None) == (model is None):
            raise ValueError("Give exactly one of version ('owner/name:id' or a version id) or model ('owner/name').")
        if not isinstance(input, Mapping):
            raise ValueError(f"A prediction's input must be a dict of the model's inputs, not {type(input).__name__}")
        _ = self.settings  # paths depend on the base URL
        body: dict[str, Any] = {**dict(extra_params or {}), "input": dict(input)}
        if model is not None:
            owner, _, name = model.partition("/")
            if not owner or not name or "/" in name:
                raise ValueError(f"model must look like 'owner/name', not {model!r}")
            path = f"{self._root()}/models/{path_segment(owner)}/{path_segment(name)}/predictions"
        else:
            path, body["version"] = f"{self._root()}/predictions", version
        return self.post_create(path, json=body)

    def create_job(self, request: Mapping[str, Any]) -> VideoJob:
        """:meth:`create_prediction` with ``request`` as its keyword arguments."""
        return self.create_prediction(**request)

    def find_created_jobs(self, request: Mapping[str, Any], since: datetime, until: datetime) -> list[VideoJob]:
        """Look through ``GET /v1/predictions`` (newest first, cursor pages; ``created_after`` and
        ``created_before`` narrow it where honoured) for predictions of the request's model or version with
        its input, created in the window."""
        return scan_newest_first(
            self,
            f"{self._root()}/predictions",
            {"created_after": _iso(since), "created_before": _iso(until)},
            items_key="results",
            made_by=lambda wire: made_by(wire, request),
            next_params=_next_cursor,
            since=since,
            until=until,
        )

    def asset_source(self, job_id: str, variant: str = "video") -> AssetSource:
        """The output URL. The token goes with it only on the API's own routes (``/v1/files/...``), never to
        ``replicate.delivery`` or any other host."""
        if variant != "video":
            raise ValueError(f"replicate has no asset variant {variant!r}; predictions have only 'video'")
        source = super().asset_source(job_id, variant)
        on_api = self._auth(self.settings).applies_to(httpx.URL(source.url))
        return replace(source, send_key=True) if on_api else source
