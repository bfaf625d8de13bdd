"""The data a wait deals in: the normalized :class:`VideoJob`, the status vocabulary, the vendors' lenient types.

Every hook maps its vendor's JSON (a :class:`WireModel` built from the lenient types below) onto
:class:`VideoJob`, mapping the vendor's status string with a :class:`StatusMapper`; operators and
sensors push :meth:`VideoJob.to_xcom` (JSON-native, versioned) so downstream tasks never parse vendor
JSON. The three live together because every poll builds all three, in this order, from one reply.
"""

from __future__ import annotations

import enum
import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from airflow_provider_vidjobs import url_secrets
from airflow_provider_vidjobs.printable import printable

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
        """One printable line (for people and logs); the fields keep the vendor's text as sent."""
        if self.code and self.message:
            text = f"{self.code}: {self.message}"
        else:
            text = self.code or self.message or "no details given by the API"
        return " ".join(printable(text).split())


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
        """One human line: ``tensorpix job 3c90...: running 45%``.

        Operators and sensors log it: the vendor's text in it (the error) is put on one printable line,
        its escapes and line breaks removed (the job's fields, and so its XCom, keep them).
        """
        text = f"{self.provider} job {self.job_id}: {self.status.value}"
        if self.progress is not None and not self.is_terminal:
            text += f" {self.progress:.0f}%"
        if self.vendor_status and self.vendor_status.lower() != self.status.value:
            text += f" (API says {self.vendor_status!r})"
        if self.error:
            text += f" - {self.error}"
        return text


# --- Vendor status strings -> JobStatus -------------------------------------------------------------
# One table per API, common spellings, user overrides. TensorPix does not document its status
# strings, so the mapping is tolerant: common spellings in any case, anything unknown treated as still
# running (logged once), and callers may override per task.

#: The name the status warnings have always been logged under (users filter on it).
log = logging.getLogger("airflow_provider_vidjobs.status")

#: Spellings seen across video and job APIs. Keys are normalized with :func:`status_key`.
COMMON_SPELLINGS: Final[Mapping[str, JobStatus]] = {
    **dict.fromkeys(
        ("queued", "pending", "in_queue", "waiting", "created", "submitted", "scheduled"), JobStatus.QUEUED
    ),
    **dict.fromkeys(("processing", "in_progress", "running", "started", "generating", "rendering"), JobStatus.RUNNING),
    **dict.fromkeys(
        ("completed", "complete", "done", "finished", "succeeded", "success", "successful"),
        JobStatus.SUCCEEDED,
    ),
    **dict.fromkeys(("failed", "failure", "error", "errored", "expired", "rejected"), JobStatus.FAILED),
    **dict.fromkeys(("cancelled", "canceled", "aborted"), JobStatus.CANCELLED),
}

_warned: set[tuple[str, str]] = set()


def status_key(raw: str) -> str:
    """Normalize a status string for lookup: ``"In Progress"`` and ``"in-progress"`` -> ``"in_progress"``."""
    return "_".join(raw.strip().lower().replace("-", " ").split())


def parse_status_overrides(overrides: Mapping[str, str] | None) -> dict[str, JobStatus]:
    """Validate a user's ``{"vendor status": "succeeded", ...}`` mapping, failing with a clear message."""
    if not overrides:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError(f"status_overrides must be a dict of vendor status -> status, not {type(overrides)!r}")
    allowed = ", ".join(s.value for s in JobStatus)
    parsed: dict[str, JobStatus] = {}
    for raw, target in overrides.items():
        try:
            parsed[status_key(str(raw))] = JobStatus(str(target).strip().lower())
        except ValueError:
            raise ValueError(
                f"status_overrides maps {raw!r} to {target!r}, which is not a job status; use one of: {allowed}"
            ) from None
    return parsed


class StatusMapper:
    """Maps one API's status strings, with the caller's overrides taking precedence."""

    def __init__(
        self,
        provider: str,
        table: Mapping[str, JobStatus] = COMMON_SPELLINGS,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self._table = {**{status_key(k): v for k, v in table.items()}, **parse_status_overrides(overrides)}

    def map(self, raw: str | None) -> JobStatus:
        """The status for ``raw``; ``UNKNOWN`` (still running) when the string is not known."""
        if raw is None:
            return JobStatus.UNKNOWN
        status = self._table.get(status_key(raw))
        if status is None:
            self._warn_unknown(raw)
            return JobStatus.UNKNOWN
        return status

    def _warn_unknown(self, raw: str) -> None:
        if (self.provider, raw) in _warned:
            return
        _warned.add((self.provider, raw))
        log.warning(
            "%s sent the status %r, which this provider does not know; treating the job as still running. "
            "If it means the job ended, map it with status_overrides={%r: 'succeeded' or 'failed'}.",
            self.provider,
            raw,
            raw,
        )


_SHARED_LIMIT = 256
_shared: dict[tuple[str, int, tuple[tuple[str, str], ...]], tuple[Mapping[str, JobStatus], StatusMapper]] = {}


def shared_status_mapper(
    provider: str, table: Mapping[str, JobStatus], overrides: Mapping[str, str] | None = None
) -> StatusMapper:
    """One :class:`StatusMapper` per API table and overrides, shared: a triggerer builds thousands of hooks."""
    if overrides is not None and not isinstance(overrides, Mapping):
        return StatusMapper(provider, table, overrides)  # raises the clear TypeError
    key = (provider, id(table), tuple(sorted((str(k), str(v)) for k, v in (overrides or {}).items())))
    entry = _shared.get(key)
    if entry is None or entry[0] is not table:
        if len(_shared) >= _SHARED_LIMIT:
            _shared.clear()
        entry = (table, StatusMapper(provider, table, overrides))
        _shared[key] = entry
    return entry[1]


# --- Lenient field types of the vendors' wire models --------------------------------------------------
# Vendors' JSON drifts: numbers arrive as strings, placeholders like "<string>" appear in their own
# examples, optional keys vanish or turn null. These types accept all of that, turning an unusable
# value into None rather than failing the whole job: an odd framerate must not end a wait.

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX\u00d7*]\s*(\d{1,5})\s*$")


class WireModel(BaseModel):
    """Base of vendor models: unknown keys kept (in ``model_extra``), nothing frozen."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _number(value: Any) -> float | None:
    """A finite float, or None: NaN, infinities, ``1e400`` and integers beyond float range are unusable.

    ``-0.0`` becomes ``0.0``, so no ``-0.0`` reaches an XCom.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)  # an int beyond float range (10**400) raises OverflowError
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number + 0.0 if math.isfinite(number) else None


def _float(value: Any) -> float | None:
    return _number(value)


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return abs(number) if number.is_zero() else number  # "-0.00" -> 0.00


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int of more digits than Python converts to text (4300 by default)
            return None
    return None


def _iso_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return _unix_time(value)
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _unix_time(value: Any) -> datetime | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    if number > 1e11:  # milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


LenientFloat = Annotated[float | None, BeforeValidator(_float)]
LenientInt = Annotated[int | None, BeforeValidator(_int)]
LenientDecimal = Annotated[Decimal | None, BeforeValidator(_decimal)]
LenientStr = Annotated[str | None, BeforeValidator(_text)]
IsoTime = Annotated[datetime | None, BeforeValidator(_iso_time)]
UnixTime = Annotated[datetime | None, BeforeValidator(_unix_time)]


def parse_size(size: str | None) -> tuple[int | None, int | None]:
    """``"1280x720"`` -> ``(1280, 720)``; anything else (``"720P"``, ``None``) -> ``(None, None)``."""
    if not size:
        return None, None
    match = _SIZE.match(size)
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2))


def clamp_progress(progress: float | None) -> float | None:
    """Progress as 0-100, or None when unknown."""
    if progress is None:
        return None
    return min(100.0, max(0.0, progress))


def duration_from_frames(frames: int | None, rate: float | None) -> float | None:
    """Seconds from a frame count and frame rate, when both are usable."""
    if not frames or not rate or frames < 0 or rate <= 0:
        return None
    seconds = frames / rate  # a denormal rate (5e-324) makes this infinite
    return round(seconds, 3) if math.isfinite(seconds) else None
