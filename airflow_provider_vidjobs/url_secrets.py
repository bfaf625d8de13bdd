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
from typing import TYPE_CHECKING
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
    except ValueError:
        return []
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
