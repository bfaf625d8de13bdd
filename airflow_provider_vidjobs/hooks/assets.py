"""Downloading a job's files: where from (a fresh URL), and streaming them with errors that say why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from airflow_provider_vidjobs.exceptions import DownloadError
from airflow_provider_vidjobs.http import responses
from airflow_provider_vidjobs.http.scrub import scrub
from airflow_provider_vidjobs.models import VideoJob


@dataclass(frozen=True)
class AssetSource:
    """A downloadable file of a job: its URL, whether the API key goes with it, its size if known."""

    url: str
    send_key: bool
    expected_size: int | None = None
    job: VideoJob | None = None


def asset_error(response: httpx.Response, provider: str, source: AssetSource, secret: str) -> DownloadError:
    status = response.status_code
    message = scrub(responses.vendor_message(response.content)[0], secret)
    expired = status in (401, 403) and not source.send_key
    return DownloadError(
        "the file URL has expired or was refused" if expired else "the file could not be downloaded",
        provider=provider,
        job_id=source.job.job_id if source.job else None,
        http_status=status,
        vendor_message=message,
        expired=expired,
        hint="A fresh URL is fetched and the download retried once" if expired else None,
    )


def source_of(job: VideoJob, variant: str, provider: str) -> AssetSource:
    """The job's own file URL for ``variant`` (video or thumbnail), which storage serves without the key."""
    video = job.video
    url = None if video is None else (video.thumbnail_url if variant == "thumbnail" else video.url)
    if variant not in ("video", "thumbnail"):
        raise ValueError(f"{provider} has no asset variant {variant!r}; use 'video' or 'thumbnail'")
    if not url:
        raise DownloadError(
            f"has no {variant} to download (status {job.status.value})",
            provider=provider,
            job_id=job.job_id,
            hint="Wait for the job to succeed before downloading",
        )
    size = video.size_bytes if video is not None and variant == "video" else None
    return AssetSource(url=url, send_key=False, expected_size=size, job=job)


@contextmanager
def stream(client: httpx.Client, source: AssetSource, provider: str, secret: str) -> Iterator[httpx.Response]:
    """``GET`` the asset with redirects followed; a refusal or a broken transfer as :class:`DownloadError`."""
    try:
        with client.stream("GET", source.url, follow_redirects=True) as response:
            if response.status_code >= 400:
                response.read()
                raise asset_error(response, provider, source, secret)
            yield response
    except httpx.HTTPError as error:
        raise DownloadError(
            f"the download was cut short or could not start ({type(error).__name__}: {error})",
            provider=provider,
            job_id=source.job.job_id if source.job else None,
            hint="Retry the task; nothing was left under the destination name",
        ) from None
