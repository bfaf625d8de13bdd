"""AIHubMix's OpenAI-shaped Videos API: its wire model, its status mapping, and :class:`AIHubMixHook`.

API: ``GET /v1/videos/{video_id}`` with ``Authorization: Bearer <key>``. Any OpenAI-compatible Videos
gateway works by changing the connection host (with or without a trailing ``/v1``).
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, field_validator

from airflow_provider_vidjobs.exceptions import DownloadError
from airflow_provider_vidjobs.hooks.base import AssetSource, VideoJobHook, path_segment
from airflow_provider_vidjobs.hooks.listing import LIST_PAGE_SIZE, same_value, scan_newest_first
from airflow_provider_vidjobs.hooks.requests import CreateRequest, as_params
from airflow_provider_vidjobs.models import (
    COMMON_SPELLINGS,
    GeneratedVideo,
    JobError,
    JobKind,
    JobStatus,
    LenientFloat,
    LenientInt,
    LenientStr,
    StatusMapper,
    UnixTime,
    VideoJob,
    WireModel,
    clamp_progress,
    parse_size,
)

PROVIDER = "aihubmix"  # its conn type in hooks/registry.HOOKS

#: The documented statuses, on top of the common spellings.
STATUS_TABLE: Mapping[str, JobStatus] = {
    **COMMON_SPELLINGS,
    "queued": JobStatus.QUEUED,
    "in_progress": JobStatus.RUNNING,
    "completed": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
}


# ----- wire model: OpenAI's Video object, tolerant ----------------------------------------------


class OpenAIVideoError(WireModel):
    code: LenientStr = None
    message: LenientStr = None


class OpenAIVideo(WireModel):
    id: str
    object: LenientStr = "video"
    model: LenientStr = None
    status: LenientStr = None
    progress: LenientFloat = None
    created_at: UnixTime = None
    completed_at: UnixTime = None
    expires_at: UnixTime = None
    prompt: LenientStr = None
    size: LenientStr = None
    #: A string per the spec; gateways send numbers too.
    seconds: LenientFloat = None
    remixed_from_video_id: LenientStr = None
    error: OpenAIVideoError | None = None
    # Extra keys AIHubMix sends (documented as examples, not in the schema).
    quality: LenientStr = None
    duration: LenientFloat = None
    width: LenientInt = None
    height: LenientInt = None


# ----- mapping to the normalized model ----------------------------------------------------------


def normalize(wire: OpenAIVideo, mapper: StatusMapper, videos_url: str | None) -> VideoJob:
    """The normalized job; ``videos_url`` (``<base>/v1/videos``) gives the content download URLs."""
    status = mapper.map(wire.status)
    width, height = parse_size(wire.size)
    video = None
    if status is JobStatus.SUCCEEDED:
        content = f"{videos_url}/{path_segment(wire.id)}/content" if videos_url else None
        video = GeneratedVideo(
            url=content,
            thumbnail_url=f"{content}?variant=thumbnail" if content else None,
            width=wire.width or width,
            height=wire.height or height,
            duration_seconds=wire.seconds if wire.seconds is not None else wire.duration,
            video_id=wire.id,
        )
    error = None
    if wire.error is not None and (wire.error.code or wire.error.message):
        error = JobError(code=wire.error.code, message=wire.error.message)
    return VideoJob(
        provider=PROVIDER,
        job_id=wire.id,
        status=status,
        vendor_status=wire.status,
        progress=clamp_progress(wire.progress),
        prompt=wire.prompt,
        model=wire.model,
        kind=JobKind.REMIX if wire.remixed_from_video_id else None,
        created_at=wire.created_at,
        completed_at=wire.completed_at,
        expires_at=wire.expires_at,
        video=video,
        error=error,
        extras={
            k: v
            for k, v in {
                "size": wire.size,
                "seconds": wire.seconds,
                "quality": wire.quality,
                "remixed_from_video_id": wire.remixed_from_video_id,
            }.items()
            if v is not None
        },
    )


def _after_last(page: Mapping[str, Any]) -> dict[str, Any] | None:
    """The query of the list page after ``page`` (OpenAI's cursor: ``after`` = its last id), or None."""
    last = page.get("last_id")
    return {"after": last} if page.get("has_more") is True and isinstance(last, str) and last else None


def made_by(wire: OpenAIVideo, request: Mapping[str, Any]) -> bool:
    """Whether a listed video is what ``request`` (create_video's arguments) would have made.

    The prompt must be the same; model and seconds count where both sides name one (a gateway may fill in
    defaults), size where both are ``WxH`` (gateways also take ``720P``). Extra params and input images
    are not echoed by the API, so they cannot count.
    """
    if wire.prompt is None or wire.prompt != request.get("prompt"):
        return False
    asked_size, echoed_size = parse_size(request.get("size")), parse_size(wire.size)
    sizes_known = None not in asked_size and None not in echoed_size
    return (
        same_value(request.get("model"), wire.model)
        and same_value(request.get("seconds"), wire.seconds)
        and (not sizes_known or asked_size == echoed_size)
    )


# ----- the hook ---------------------------------------------------------------------------------


class AIHubMixHook(VideoJobHook, api="aihubmix"):
    """Reads videos from AIHubMix (or any OpenAI-shaped Videos API). Host = base URL, password = key."""

    wire_model = OpenAIVideo
    probe_job_id = "vidjobs-connection-test"

    @classmethod
    def status_table(cls) -> Mapping[str, Any]:
        return STATUS_TABLE

    def videos_path(self) -> str:
        """``/v1/videos`` relative to the base URL."""
        return f"{self._root()}/videos"

    def job_path(self, job_id: str, root: str) -> str:
        return f"{root}/videos/{path_segment(job_id)}"

    def cancel_path(self, job_id: str, root: str) -> str:
        """``DELETE /v1/videos/{id}``: OpenAI documents it as deleting the video; on a job still in progress,
        gateways stop it and forget it (a later GET answers 404), and whether the time already used is billed
        is up to the vendor."""
        return self.job_path(job_id, root)

    def normalize(self, wire: Any, api_url: str) -> VideoJob:
        return normalize(wire, self.status_mapper, f"{api_url}/videos")

    # ----- beyond reading: create and download ----------------------------------------------------

    def create_video(
        self,
        *,
        prompt: str,
        model: str | None = None,
        seconds: str | int | float | None = None,
        size: str | None = None,
        input_reference: InputReference | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> VideoJob:
        """``POST /v1/videos``: multipart when an image file goes with it (as OpenAI's SDK sends), else JSON.

        Not retried on 5xx or timeouts: the job may already exist, and a second one would be paid for.
        """
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("A video needs a non-empty prompt.")
        _ = self.settings
        fields: dict[str, Any] = {"prompt": prompt, **dict(extra_params or {})}
        for key, value in (("model", model), ("seconds", seconds), ("size", size)):
            if value is not None:
                fields[key] = str(value) if key == "seconds" else value
        if input_reference is not None and input_reference.content is not None:
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
            files = {
                "input_reference": (
                    input_reference.filename,
                    input_reference.content,
                    input_reference.content_type,
                )
            }
            return self.post_create(self.videos_path(), data=form, files=files)
        if input_reference is not None:
            fields["input_reference"] = input_reference.as_json()
        return self.post_create(self.videos_path(), json=fields)

    def create_job(self, request: Mapping[str, Any]) -> VideoJob:
        """:meth:`create_video` with ``request`` as its keyword arguments."""
        return self.create_video(**request)

    def find_created_jobs(self, request: Mapping[str, Any], since: datetime, until: datetime) -> list[VideoJob]:
        """Look through ``GET /v1/videos?order=desc`` (OpenAI documents it; AIHubMix does not, so a 404 or 405
        there means no way to look) for videos created in the window with the request's prompt, and its
        model, seconds and size where both the request and the video name one."""
        return scan_newest_first(
            self,
            self.videos_path(),
            {"limit": LIST_PAGE_SIZE, "order": "desc"},
            items_key="data",
            made_by=lambda wire: made_by(wire, request),
            next_params=_after_last,
            since=since,
            until=until,
        )

    def asset_source(self, job_id: str, variant: str = "video") -> AssetSource:
        """The API's own content route (``/v1/videos/{id}/content?variant=...``), which needs the key."""
        if variant not in ("video", "thumbnail", "spritesheet"):
            raise ValueError(f"aihubmix has no asset variant {variant!r}; use video, thumbnail or spritesheet")
        job = self.get_job(job_id)
        if job.status is not JobStatus.SUCCEEDED:
            raise DownloadError(
                f"has no {variant} to download (status {job.status.value})",
                provider=self.provider,
                job_id=job.job_id,
                hint="Wait for the job to succeed before downloading",
            )
        url = f"{self.settings.base_url}{self.videos_path()}/{path_segment(job.job_id)}/content?variant={variant}"
        return AssetSource(url=url, send_key=True, job=job)


@dataclass(frozen=True)
class InputReference:
    """An image to animate: file bytes (sent as multipart), or an ``image_url`` / ``file_id`` (sent as JSON)."""

    content: bytes | None = None
    filename: str = "input.png"
    content_type: str = "application/octet-stream"
    image_url: str | None = None
    file_id: str | None = None

    def as_json(self) -> dict[str, str]:
        if self.image_url:
            return {"image_url": self.image_url}
        if self.file_id:
            return {"file_id": self.file_id}
        raise ValueError("An input reference needs file content, an image_url or a file_id.")


def to_input_reference(
    value: str | bytes | os.PathLike[str] | Mapping[str, Any] | InputReference | None,
) -> InputReference | None:
    """A user's image (path, URL, data URL, bytes, or ``{"image_url"}``/``{"file_id"}``) as an input reference."""
    if value is None or value == "":
        return None
    if isinstance(value, InputReference):
        return value
    if isinstance(value, bytes | bytearray):
        return InputReference(content=bytes(value), filename="input", content_type=_sniff(bytes(value)))
    if isinstance(value, Mapping):
        return InputReference(image_url=value.get("image_url"), file_id=value.get("file_id"))
    text = os.fspath(value)
    if text.startswith(("http://", "https://")):
        return InputReference(image_url=text)
    if text.startswith("data:"):
        header, _, payload = text.partition(",")
        try:
            content = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("input_reference is a data: URL whose content is not valid base64") from None
        content_type = header[5:].split(";")[0] or "application/octet-stream"
        return InputReference(content=content, filename="input", content_type=content_type)
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(f"input_reference {text!r} is not a file, an http(s) URL or a data: URL")
    return InputReference(
        content=path.read_bytes(),
        filename=path.name,
        content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
    )


def _sniff(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


class AIHubMixVideoRequest(CreateRequest):
    """``POST /v1/videos``: what :meth:`AIHubMixHook.create_video` takes.

    :param prompt: what to generate.
    :param model: e.g. ``sora-2``, ``veo-3.1``; the API's default when None.
    :param seconds: clip length (sent as a string, as the API documents).
    :param size: ``WxH`` such as ``1280x720`` (gateways also take ``720P``...).
    :param input_reference: an image to animate: a local path, an http(s) URL, a ``data:`` URL, bytes, or
        ``{"image_url": ...}`` / ``{"file_id": ...}``; read when the task runs, not at parse time.
    :param extra_params: more fields passed through unchanged (model-specific parameters; JSON text works).
    """

    prompt: str
    model: str | None = None
    seconds: str | int | float | None = None
    size: str | None = None
    input_reference: str | bytes | os.PathLike[str] | dict[str, str] | InputReference | None = None
    extra_params: Annotated[dict[str, Any], BeforeValidator(as_params)] = {}

    @field_validator("prompt")
    @classmethod
    def _prompt_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("A video needs a non-empty prompt")
        return value

    @field_validator("input_reference")
    @classmethod
    def _reference_names_an_image(cls, value: Any) -> Any:
        if isinstance(value, dict) and not (value.get("image_url") or value.get("file_id")):
            raise ValueError('a dict input_reference needs "image_url" or "file_id"')
        return value

    def create_kwargs(self) -> dict[str, Any]:
        """The fields with the image read (a file's bytes, a URL): also what re-attach fingerprints."""
        return {**super().create_kwargs(), "input_reference": to_input_reference(self.input_reference)}


AIHubMixHook.request_model = AIHubMixVideoRequest  # here: the model needs InputReference, defined after the hook
