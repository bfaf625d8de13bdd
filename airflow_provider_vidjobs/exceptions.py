"""Every error this provider raises, grouped by meaning so callers catch what they can act on.

    VideoJobError                      base of everything below (an ``AirflowException``)
    ├── VideoAPIError                  the API answered badly or not at all
    │   ├── InvalidRequestError        400/413/422: we sent something the API refused (not retried)
    │   ├── AuthenticationError        401/403: the key is missing, wrong or revoked (not retried)
    │   ├── JobNotFoundError           404: no such job for this key (not retried)
    │   ├── InvalidResponseError       2xx whose body is not JSON or does not have the documented shape
    │   │   └── UnreadableResponseError  2xx whose body is not JSON at all (truncated, an HTML page)
    │   ├── CreateOutcomeUnknownError  a create whose answer was lost: a job may exist (never sent again)
    │   ├── OrphanLookupUnavailableError  the API has no list in which to look for such a job
    │   └── TransientAPIError          worth retrying: the same request may work later
    │       ├── RateLimitedError       429, with the server's ``retry_after`` when it sent one
    │       └── APIUnavailableError    408, 5xx, timeouts and connection errors
    ├── DownloadError                  a file could not be downloaded whole (expired URL, cut short, wrong size)
    └── JobFailedError                 the job itself ended failed or cancelled (carries the job)

Every message names the provider, the job id, the HTTP status, the vendor's message and request id
when given, and what to do. No message ever contains an API key: messages are built from vendor
text scrubbed of the key before it is cut (``http.responses``) and from values we choose, never from
request headers; no error keeps a raw body or header, nor has one on its ``__cause__``/``__context__``
chain. Every text field is one printable line (:func:`~.printable.printable`): a vendor's terminal
escapes and line breaks never reach a log through an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_vidjobs.printable import printable

if TYPE_CHECKING:
    from airflow_provider_vidjobs.models import VideoJob

_MAX_VENDOR_MESSAGE = 500


class VideoJobError(AirflowException):
    """Base of every error raised by this provider."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        job_id: str | None = None,
        http_status: int | None = None,
        vendor_message: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.provider = provider
        self.job_id = job_id
        self.http_status = http_status
        self.vendor_message = _clip(vendor_message)
        self.request_id = None if request_id is None else printable(request_id)
        self.hint = None if hint is None else printable(hint)
        self.summary = printable(message)
        super().__init__(self._render())

    def _render(self) -> str:
        subject = " ".join(p for p in (self.provider, f"job {self.job_id}" if self.job_id else None) if p)
        parts = [f"{subject}: {self.summary}" if subject else self.summary]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.vendor_message:
            parts.append(f"API says: {self.vendor_message}")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.hint:
            parts.append(self.hint)
        return ". ".join(part.rstrip(". ") for part in parts if part)

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructor: teach pickle (used by Airflow's task runner) how to rebuild us.
        return (_rebuild, (type(self), self.summary, self._fields()))

    def _fields(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "job_id": self.job_id,
            "http_status": self.http_status,
            "vendor_message": self.vendor_message,
            "request_id": self.request_id,
            "hint": self.hint,
        }


def _rebuild(cls: type[VideoJobError], message: str, fields: dict[str, object]) -> VideoJobError:
    return cls(message, **fields)  # type: ignore[arg-type]


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(printable(text).split())
    return text if len(text) <= _MAX_VENDOR_MESSAGE else text[:_MAX_VENDOR_MESSAGE] + "..."


class VideoAPIError(VideoJobError):
    """The API answered with an error, an unusable body, or not at all."""


class InvalidRequestError(VideoAPIError):
    """The API refused what we sent (400, 413, 422). Retrying the same request will not help."""


class AuthenticationError(VideoAPIError):
    """The API rejected the key (401) or refused access to this job (403)."""


class JobNotFoundError(VideoAPIError):
    """The API has no such job for this key (404)."""


class InvalidResponseError(VideoAPIError):
    """A success status whose body is not JSON, or not the documented shape."""


class UnreadableResponseError(InvalidResponseError):
    """A success status whose body is not JSON (truncated, a proxy's HTML page): a deferred wait polls again."""


class CreateOutcomeUnknownError(VideoAPIError):
    """A create request may have reached the API, but its answer was lost: a job may exist and be billed.

    Never retried in place. The next try of a re-attaching task looks for that job before creating another.
    """


class OrphanLookupUnavailableError(VideoAPIError):
    """The API (or a gateway in front of it) offers no list in which to look for a job a lost create made."""


class TransientAPIError(VideoAPIError):
    """A failure that may pass: the same request is worth sending again later."""

    def __init__(self, message: str, *, retry_after: float | None = None, **fields: object) -> None:
        #: Seconds the server asked us to wait before retrying, when it said so.
        self.retry_after = retry_after
        super().__init__(message, **fields)  # type: ignore[arg-type]

    def _fields(self) -> dict[str, object]:
        return {**super()._fields(), "retry_after": self.retry_after}


class RateLimitedError(TransientAPIError):
    """429: too many requests, or the account's quota is used up."""


class APIUnavailableError(TransientAPIError):
    """408, 5xx, a timeout or a connection error: the API could not answer now."""


class DownloadError(VideoJobError):
    """A job's file could not be downloaded whole; nothing is left under the destination name."""

    def __init__(self, message: str, *, expired: bool = False, **fields: object) -> None:
        #: True when storage refused a pre-signed URL (it expired): a fresh URL may work.
        self.expired = expired
        super().__init__(message, **fields)  # type: ignore[arg-type]

    def _fields(self) -> dict[str, object]:
        return {**super()._fields(), "expired": self.expired}


class JobFailedError(VideoJobError):
    """The job ended without a video: failed or cancelled at the vendor."""

    def __init__(self, job: VideoJob, *, hint: str | None = None) -> None:
        self.job = job
        error = job.error
        super().__init__(
            f"ended {job.status.value}"
            + (f" (API status {job.vendor_status!r})" if job.vendor_status else "")
            + (f", error code {error.code!r}" if error and error.code else ""),
            provider=job.provider,
            job_id=job.job_id,
            vendor_message=error.message if error else None,
            hint=hint or "Check the prompt and model, then create a new job; a failed job is not retried.",
        )

    @property
    def error_code(self) -> str | None:
        return self.job.error.code if self.job.error else None

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_failed, (type(self), self.job, self.hint))


def _rebuild_failed(cls: type[JobFailedError], job: VideoJob, hint: str | None) -> JobFailedError:
    return cls(job, hint=hint)
