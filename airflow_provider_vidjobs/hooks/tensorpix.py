"""TensorPix video generation: its wire model, its status mapping, and :class:`TensorPixHook`.

API: ``GET /api/video-gen/jobs/{uuid}/`` and ``GET /api/video-gen/videos/{uuid}/`` with
``Authorization: Token <key>``. Status strings are undocumented:
see :class:`~airflow_provider_vidjobs.models.StatusMapper`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from airflow_provider_vidjobs import url_secrets
from airflow_provider_vidjobs.hooks.base import VideoJobHook, check_job_id
from airflow_provider_vidjobs.models import (
    COMMON_SPELLINGS,
    GeneratedVideo,
    IsoTime,
    JobError,
    JobKind,
    JobStatus,
    LenientDecimal,
    LenientFloat,
    LenientInt,
    LenientStr,
    StatusMapper,
    VideoJob,
    WireModel,
    clamp_progress,
    duration_from_frames,
)

PROVIDER = "tensorpix"  # its conn type in hooks/registry.HOOKS
KINDS = {"t2v": JobKind.TEXT_TO_VIDEO, "i2v": JobKind.IMAGE_TO_VIDEO}


# ----- wire model: the vendor's JSON as documented, tolerant ------------------------------------


class TensorPixGeneratedVideo(WireModel):
    id: LenientStr = None
    name: LenientStr = None
    created_at: IsoTime = None
    job: LenientStr = None
    uploaded_video: dict[str, Any] | None = None
    width: LenientInt = None
    height: LenientInt = None
    n_frames: LenientInt = None
    framerate: LenientFloat = None
    size: LenientInt = None
    #: Pre-signed storage URL; expires. Never send the API key to it.
    file: LenientStr = None
    thumbnail: LenientStr = None


class TensorPixInputImage(WireModel):
    id: LenientStr = None
    file: LenientStr = None
    name: LenientStr = None


class TensorPixJob(WireModel):
    id: str
    prompt: LenientStr = None
    type: LenientStr = None
    status: LenientStr = None
    cost: LenientDecimal = None
    model: LenientStr = None
    generated_video: TensorPixGeneratedVideo | None = None
    input_images: list[TensorPixInputImage] | None = None
    progress: LenientFloat = None
    started_at: IsoTime = None
    options: Any = None


# ----- mapping to the normalized model ----------------------------------------------------------


def to_video(wire: TensorPixGeneratedVideo) -> GeneratedVideo:
    return GeneratedVideo(
        url=wire.file,
        thumbnail_url=wire.thumbnail,
        width=wire.width,
        height=wire.height,
        duration_seconds=duration_from_frames(wire.n_frames, wire.framerate),
        frame_rate=wire.framerate,
        frame_count=wire.n_frames,
        size_bytes=wire.size,
        video_id=wire.id,
    )


def _error(wire: TensorPixJob) -> JobError | None:
    """TensorPix documents no error fields; use the ones DRF-style APIs commonly send, if any."""
    extra = wire.model_extra or {}
    raw = extra.get("error") or extra.get("error_message") or extra.get("failure_reason") or extra.get("detail")
    if isinstance(raw, dict):
        code, message = raw.get("code"), raw.get("message") or raw.get("detail")
        return JobError(code=None if code is None else str(code), message=None if message is None else str(message))
    if raw:
        return JobError(message=str(raw))
    code = extra.get("error_code")
    return JobError(code=str(code)) if code else None


def normalize(wire: TensorPixJob, mapper: StatusMapper) -> VideoJob:
    """The normalized job; a video file present means done, whatever the status string says."""
    status = mapper.map(wire.status)
    video = wire.generated_video
    if video is not None and video.file and status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        status = JobStatus.SUCCEEDED
    return VideoJob(
        provider=PROVIDER,
        job_id=wire.id,
        status=status,
        vendor_status=wire.status,
        progress=clamp_progress(wire.progress),
        prompt=wire.prompt,
        model=wire.model,
        kind=KINDS.get((wire.type or "").lower()),
        started_at=wire.started_at,
        completed_at=video.created_at if video is not None and status is JobStatus.SUCCEEDED else None,
        video=to_video(video) if video is not None else None,
        cost=wire.cost,
        error=_error(wire) if status in (JobStatus.FAILED, JobStatus.CANCELLED) else None,
        extras={
            k: v
            for k, v in {
                "type": wire.type,
                "input_image_count": len(wire.input_images) if wire.input_images is not None else None,
                "video_name": video.name if video is not None else None,
            }.items()
            if v is not None
        },
    )


def _url_secrets(video: GeneratedVideo) -> list[str]:
    return [secret for url in (video.url, video.thumbnail_url) for secret in url_secrets.secrets_of(url)]


# ----- the hook ---------------------------------------------------------------------------------


class TensorPixHook(VideoJobHook, api="tensorpix"):
    """Reads TensorPix video-generation jobs. Connection: host = base URL (optional), password = API key."""

    wire_model = TensorPixJob
    key_prefix = "/api/"
    probe_job_id = "00000000-0000-4000-8000-000000000000"

    @classmethod
    def status_table(cls) -> Mapping[str, Any]:
        return COMMON_SPELLINGS  # TensorPix documents none: see airflow_provider_vidjobs.models.StatusMapper

    def validate_job_id(self, job_id: object) -> str:
        """TensorPix job ids are UUIDs; returned in canonical form."""
        clean = check_job_id(job_id, self.provider)
        try:
            return str(uuid.UUID(clean))
        except ValueError:
            raise ValueError(
                f"{clean[:80]!r} is not a TensorPix job id: TensorPix ids are UUIDs like "
                "3c90c3cc-0d44-4b50-8888-8dd25736052a."
            ) from None

    def job_path(self, job_id: str, root: str) -> str:
        return f"{root}/api/video-gen/jobs/{job_id}/"

    def normalize(self, wire: Any, api_url: str) -> VideoJob:
        return normalize(wire, self.status_mapper)

    def get_generated_video(self, video_id: str) -> GeneratedVideo:
        """A generated video by its id, with a freshly signed file URL (the old one may have expired)."""
        video_id = self.validate_job_id(video_id)
        reply = self.request("GET", f"/api/video-gen/videos/{video_id}/", job_id=video_id)
        video = to_video(self._validate_video(reply.payload, video_id))
        url_secrets.register(_url_secrets(video))
        return video

    async def aget_generated_video(self, video_id: str) -> GeneratedVideo:
        video_id = self.validate_job_id(video_id)
        reply = await self.arequest("GET", f"/api/video-gen/videos/{video_id}/", job_id=video_id)
        return to_video(self._validate_video(reply.payload, video_id))  # not masked on a loop: see apoll_job

    def _validate_video(self, payload: Any, video_id: str) -> TensorPixGeneratedVideo:
        from pydantic import ValidationError

        from airflow_provider_vidjobs.exceptions import InvalidResponseError

        try:
            return TensorPixGeneratedVideo.model_validate(payload)
        except ValidationError:
            raise InvalidResponseError(
                "the generated-video JSON does not have the documented shape",
                provider=self.provider,
                job_id=video_id,
            ) from None
