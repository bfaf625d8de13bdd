"""The normalized video-job model: the one shape users see, whatever API produced the job.

Every hook maps its vendor's JSON onto :class:`VideoJob`; operators and sensors push
:meth:`VideoJob.to_xcom` (JSON-native, versioned) so downstream tasks never parse vendor JSON.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_provider_vidjobs import url_secrets

#: Bumped when a field changes meaning or is removed; adding an optional field keeps the version.
SCHEMA_VERSION: Final = 1


class JobStatus(enum.StrEnum):
    """Where a job is in its life, the same for every API."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: The vendor sent a status we could not map; treated as still running.
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True when the job will not change any more (the one place that decides this)."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES: Final = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobKind(enum.StrEnum):
    """What kind of generation produced the video, where the vendor says so."""

    TEXT_TO_VIDEO = "text-to-video"
    IMAGE_TO_VIDEO = "image-to-video"
    REMIX = "remix"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GeneratedVideo(_Frozen):
    """The generated video file and what is known about it."""

    url: str | None = Field(None, description="Where to fetch the video (may be pre-signed and expire).")
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    frame_rate: float | None = None
    frame_count: int | None = None
    size_bytes: int | None = None
    video_id: str | None = Field(None, description="The vendor's id of the video object, if separate.")


class JobError(_Frozen):
    """Why a job failed, as the vendor put it."""

    code: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        if self.code and self.message:
            return f"{self.code}: {self.message}"
        return self.code or self.message or "no details given by the API"


class VideoJob(_Frozen):
    """A video-generation job at one moment, normalized across APIs."""

    provider: str = Field(description="The API that owns the job: 'tensorpix', 'aihubmix', ...")
    job_id: str
    status: JobStatus
    vendor_status: str | None = Field(None, description="The status string exactly as the API sent it.")
    progress: float | None = Field(None, ge=0, le=100)
    prompt: str | None = None
    model: str | None = None
    kind: JobKind | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = Field(None, description="When the downloadable assets expire.")
    video: GeneratedVideo | None = None
    cost: Decimal | None = Field(None, description="What the job cost, in the vendor's unit (credits).")
    error: JobError | None = None
    web_url: str | None = Field(None, description="The job's page in the vendor's web app, if the API returns one.")
    extras: dict[str, Any] = Field(default_factory=dict, description="A few vendor-specific values.")

    @field_validator("created_at", "started_at", "completed_at", "expires_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        """Naive times are taken as UTC; every time leaves the model timezone-aware in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    def to_xcom(self) -> dict[str, Any]:
        """The JSON-native form pushed to XCom and put in trigger events, with a ``schema_version``.

        ``web_url`` (added within schema version 1) is left out when the API gave none, so a worker
        still on an older release of this provider reads the XCom of a newer triggerer unchanged.
        """
        data = self.model_dump(mode="json")
        if data.get("web_url") is None:
            data.pop("web_url", None)
        return {"schema_version": SCHEMA_VERSION, **data}

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> VideoJob:
        """Rebuild a job from :meth:`to_xcom` output (an upstream task's XCom or a trigger event).

        Its URLs' signatures are registered with Airflow's secret masker, so the task that rebuilt it
        (a resumed sensor, a downstream task) logs them as ``***``; the job itself keeps them whole.
        """
        data = dict(value)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"VideoJob XCom has schema_version {version!r}; this provider reads version {SCHEMA_VERSION}. "
                "Upgrade airflow-provider-vidjobs on every worker to the same version."
            )
        job = cls.model_validate(data)
        url_secrets.register_job(job)
        return job

    def summary(self) -> str:
        """One human line: ``tensorpix job 3c90...: running 45%``."""
        text = f"{self.provider} job {self.job_id}: {self.status.value}"
        if self.progress is not None and not self.is_terminal:
            text += f" {self.progress:.0f}%"
        if self.vendor_status and self.vendor_status.lower() != self.status.value:
            text += f" (API says {self.vendor_status!r})"
        if self.error:
            text += f" - {self.error}"
        return text
