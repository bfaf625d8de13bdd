"""The credentials inside URLs we hand out (a pre-signed storage URL's ``signature=``), for the secret masker.

A pre-signed URL is a download credential until it expires. The XCom must keep it whole (it is what
downstream tasks download), so instead of editing it its secret query values are registered with
Airflow's secret masker, as connection keys are: the task's log lines then show them as ``***``.

Only in task processes (short-lived, a few jobs each), never on the triggerer's event loop: Airflow's
masker recompiles one regex of every secret on each addition and runs it on every log line, so a
triggerer registering two signatures per finished job slows without bound (measured here: 0.06 s per
addition with 500 secrets, 0.3 s with 2,000).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from airflow_provider_vidjobs.models import VideoJob

#: Query parameters that are credentials in pre-signed URLs: TensorPix and generic (``signature``),
#: Azure SAS (``sig``), S3 (``X-Amz-*``), GCS (``X-Goog-*``), CloudFront (``Signature``, ``Policy``), tokens.
SECRET_QUERY_PARAMS = frozenset(
    {
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "policy",
        "token",
        "access_token",
    }
)

#: Shorter values are not registered: the masker would hide every occurrence of, say, ``1`` in every log.
MIN_SECRET_LENGTH = 8

_SECRET_IN_TEXT = re.compile(
    r"([?&](?:" + "|".join(re.escape(name) for name in sorted(SECRET_QUERY_PARAMS)) + r")=)([^&#\s\"'<>\\]+)",
    re.IGNORECASE,
)


def secrets_of(url: str | None) -> list[str]:
    """The secret query values of ``url``, as written in it (and decoded, when that differs)."""
    if not url or "?" not in url:
        return []
    try:
        query = urlsplit(url).query
    except ValueError:  # a malformed host ("[::1"): its query is a credential all the same
        query = url.partition("?")[2].partition("#")[0]
    found: list[str] = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if len(value) >= MIN_SECRET_LENGTH and unquote(name).lower() in SECRET_QUERY_PARAMS:
            found.append(value)
            decoded = unquote(value)
            if decoded != value:
                found.append(decoded)
    return found


def secrets_of_job(job: VideoJob) -> list[str]:
    """The secret query values of a job's video and thumbnail URLs."""
    video = job.video
    if video is None:
        return []
    return [secret for url in (video.url, video.thumbnail_url) for secret in secrets_of(url)]


def mask_in_text(text: str) -> str:
    """``text`` with the value of every secret query parameter replaced by ``***`` (for body previews)."""
    return _SECRET_IN_TEXT.sub(r"\1***", text)


def without_url_secrets(event: dict[str, Any]) -> dict[str, Any]:
    """A trigger event whose job's URLs have their secret query values replaced by ``***``.

    The triggerer logs every event it fires ("Trigger fired event ...") and cannot afford to register
    each signature (above), so a signed URL never travels in an event: such an event says ``reread``, and
    the resumed task reads the job once more (a fresh URL, registered with the task's masker).
    """
    job = event.get("job")
    if not isinstance(job, dict) or not isinstance(video := job.get("video"), dict):
        return event
    urls = {key: video.get(key) for key in ("url", "thumbnail_url")}
    if not any(isinstance(url, str) and secrets_of(url) for url in urls.values()):
        return event
    masked = {key: mask_in_text(url) if isinstance(url, str) else url for key, url in urls.items()}
    return {**event, "job": {**job, "video": {**video, **masked}}, REREAD_KEY: True}


#: Set in a trigger event whose job lost its URLs' secrets: the task reads the job again.
REREAD_KEY = "reread"


def register(secrets: Iterable[str]) -> None:
    """Register secrets with Airflow's secret masker (in a task: its supervisor too)."""
    from airflow.providers.common.compat.sdk import mask_secret

    for secret in secrets:
        mask_secret(secret)


def register_job(job: VideoJob) -> None:
    """:func:`register` the secret query values of a job's URLs (sync: in a task, not on an event loop)."""
    secrets = secrets_of_job(job)
    if secrets:
        register(secrets)
