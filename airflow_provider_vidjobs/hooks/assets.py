"""Downloading a job's files: where from (a fresh URL), and streaming them with errors that say why.

Every read is bounded: a refused download's body by :data:`ERROR_BODY_BYTES`, and a file a server
content-encodes although we asked for none by what it may decode to (:func:`body_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from airflow_provider_vidjobs.exceptions import DownloadError
from airflow_provider_vidjobs.http import responses
from airflow_provider_vidjobs.http.decoding import CappedDecoder, DecodedTooLarge
from airflow_provider_vidjobs.models import VideoJob

#: Asked of every file download: videos and images are compressed already, and with no content coding
#: the Content-Length is the file's own size and nothing has to be decoded.
IDENTITY = {"Accept-Encoding": "identity"}
#: Bytes of a refused download's body read for its error message; the rest is never read.
ERROR_BODY_BYTES = 64 * 1024
#: A file encoded anyway may decode to at most this many times the bytes received, past the floor
#: below, when the API states no size: gzip gains a video about 1%, a compression bomb about 1000x.
MAX_DECODED_RATIO = 100
DECODED_FLOOR_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class AssetSource:
    """A downloadable file of a job: its URL, whether the API key goes with it, its size if known."""

    url: str
    send_key: bool
    expected_size: int | None = None
    job: VideoJob | None = None


def asset_error(
    response: httpx.Response, body: bytes, provider: str, source: AssetSource, secret: str
) -> DownloadError:
    """The error of a refused download, with the vendor's message from the start of its ``body``."""
    status = response.status_code
    message = responses.vendor_message(body, secret)[0]
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
        with client.stream("GET", source.url, follow_redirects=True, headers=IDENTITY) as response:
            if response.status_code >= 400:
                raise asset_error(response, _error_body(response), provider, source, secret)
            yield response
    except httpx.HTTPError as error:
        raise DownloadError(
            f"the download was cut short or could not start ({type(error).__name__}: {error})",
            provider=provider,
            job_id=source.job.job_id if source.job else None,
            hint="Retry the task; nothing was left under the destination name",
        ) from None


def is_encoded(response: httpx.Response) -> bool:
    """True when the body has a content coding (a server that ignored :data:`IDENTITY`)."""
    coding = response.headers.get("content-encoding", "")
    return any(c.strip().lower() not in ("", "identity") for c in coding.split(","))


def body_chunks(response: httpx.Response, source: AssetSource, provider: str) -> Iterator[bytes]:
    """The file as it arrives: the raw pieces when it has no content coding (what we ask for), else
    decoded under a cap, the API's stated size or :data:`MAX_DECODED_RATIO` times the bytes received.

    httpx would decode each piece whole and unbounded: a 1 MB gzip body of zeros becomes a 1 GiB file.
    """
    if not is_encoded(response):
        yield from response.iter_raw()
        return
    coding = response.headers["content-encoding"]
    job_id = source.job.job_id if source.job else None
    if not CappedDecoder.handles(coding):
        raise DownloadError(
            f"storage sent the file with Content-Encoding {coding!r}, which is not decoded here",
            provider=provider,
            job_id=job_id,
            hint="The server ignored 'Accept-Encoding: identity'; report it to the vendor",
        )
    decoder = CappedDecoder(coding, 0)
    received = 0
    for raw in response.iter_raw():
        received += len(raw)
        stated = source.expected_size
        decoder.limit = stated if stated is not None else max(DECODED_FLOOR_BYTES, MAX_DECODED_RATIO * received)
        try:
            piece = decoder.decode(raw)
        except DecodedTooLarge:
            bound = f"the {stated} bytes the API states" if stated is not None else f"{MAX_DECODED_RATIO}x its size"
            raise DownloadError(
                f"the {coding}-encoded file decodes to more than {bound} ({received} bytes received)",
                provider=provider,
                job_id=job_id,
                hint="The server may be sending a compression bomb; nothing was left under the destination name",
            ) from None
        yield piece


def _error_body(response: httpx.Response) -> bytes:
    """At most :data:`ERROR_BODY_BYTES` of a refusal, decoded when encoded: enough for the vendor's message."""
    coding = response.headers.get("content-encoding", "")
    if is_encoded(response) and not CappedDecoder.handles(coding):
        return b""  # not readable here; the status says enough
    decoder = CappedDecoder(coding, ERROR_BODY_BYTES)
    kept: list[bytes] = []
    received = 0
    try:
        for raw in response.iter_raw():
            kept.append(decoder.decode(raw[: ERROR_BODY_BYTES - received]))
            received += len(raw)
            if received >= ERROR_BODY_BYTES or decoder.size >= ERROR_BODY_BYTES:
                break  # the rest is never read: the connection closes with the response
    except (DecodedTooLarge, httpx.DecodingError):
        pass  # what was read so far is the message's start
    return b"".join(kept)
