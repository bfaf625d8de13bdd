"""The pre-signed storage an API's video URLs may point at (``/_storage/<api>/<job id>/<file>``).

Like S3: the URL's signature is the only credential. An ``Authorization`` header is refused with 400
(and counted as a leaked API key), a tampered signature or a past expiry gets 403, XML bodies.
Single byte ranges (``Range: bytes=...``) answer 206, so a client can resume a cut download.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from airflow_provider_vidjobs.testing.simulator import apis, errors
from airflow_provider_vidjobs.testing.simulator.http import Request, Response, StreamBody
from airflow_provider_vidjobs.testing.simulator.jobs import COMPLETED
from airflow_provider_vidjobs.testing.simulator.routing import Routed, fixed
from airflow_provider_vidjobs.testing.simulator.state import SimState
from airflow_provider_vidjobs.testing.simulator.storage import (
    assets,
    storage_endpoint,
    synthetic_video_chunks,
    video_size,
)

API = "storage"
PREFIX = "/_storage"

LEAK_MESSAGE = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
    "parameter or the Authorization header should be specified. [vidjobs-simulator: this request to a "
    "pre-signed storage URL carried an Authorization header: the API key was sent to a storage URL "
    "(a key leak). Download pre-signed URLs without credentials.]"
)


def route(state: SimState, req: Request) -> Routed:
    """Match ``/_storage/{api}/{job_id}/{file}`` (a registered API); counts a key leak before anything else."""
    segs = req.segments
    if len(segs) == 4 and segs[1] in apis.APIS and req.method in ("GET", "HEAD"):
        endpoint = storage_endpoint(segs[1])
        job = state.jobs.get(segs[2])
        if req.header(b"authorization") is not None:
            state.stats.storage_auth_leaks += 1
            leak = errors.s3_error(400, "InvalidArgument", LEAK_MESSAGE, ArgumentName="Authorization")
            return Routed(API, endpoint, fixed(leak), None, segs[2], job)
        return Routed(API, endpoint, get_object, None, segs[2], job)
    return Routed(API, "unmatched", fixed(errors.s3_error(404, "NoSuchKey", "The specified key does not exist.")))


async def get_object(state: SimState, req: Request, routed: Routed) -> Response:
    """Check the signature and expiry, then serve the video or thumbnail bytes."""
    query = req.query
    expires, signature = query.get("expires"), query.get("signature")
    if not expires or not signature:
        return errors.s3_error(
            403, "AccessDenied", "Query-string authentication requires the signature and expires parameters."
        )
    path = req.raw_path
    if not state.signer.valid(path, expires, signature):
        return errors.s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    now = state.clock.now()
    if now > int(expires):
        return errors.s3_error(403, "AccessDenied", "Request has expired", Expires=expires, ServerTime=str(int(now)))
    job = routed.job
    if job is None or job.phase(now)[0] != COMPLETED:
        return errors.s3_error(404, "NoSuchKey", "The specified key does not exist.")
    name = req.segments[3]
    if name == f"{job.video_id}.mp4":
        size = job.timeline.asset_size_bytes
        return _object(req, video_size(size), lambda: synthetic_video_chunks(size, job_id=job.id), b"video/mp4")
    if name == f"{job.video_id}.jpg":
        thumb = assets().thumbnail_jpg
        return _object(req, len(thumb), lambda: iter((thumb,)), b"image/jpeg")
    return errors.s3_error(404, "NoSuchKey", "The specified key does not exist.")


def _object(req: Request, length: int, chunks: Callable[[], Iterator[bytes]], ctype: bytes) -> Response:
    """200 with the whole object, or 206 for one ``Range: bytes=...`` (as S3 does), or 416."""
    accept = [(b"accept-ranges", b"bytes")]
    header = req.header(b"range")
    if header is None:
        return Response(200, stream=StreamBody(length, chunks), content_type=ctype, headers=accept)
    span = _parse_range(header.decode("latin-1"), length)
    if span is None:
        resp = errors.s3_error(416, "InvalidRange", "The requested range is not satisfiable")
        resp.headers.append((b"content-range", f"bytes */{length}".encode()))
        return resp
    start, stop = span
    headers = [*accept, (b"content-range", f"bytes {start}-{stop - 1}/{length}".encode())]
    body = StreamBody(stop - start, lambda: _slice(chunks(), start, stop))
    return Response(206, stream=body, content_type=ctype, headers=headers)


def _parse_range(value: str, length: int) -> tuple[int, int] | None:
    """``bytes=A-B``, ``bytes=A-`` or ``bytes=-N`` -> [start, stop); None if not satisfiable."""
    unit, _, spec = value.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            start, stop = max(0, length - int(last)), length
        else:
            start = int(first)
            stop = min(length, int(last) + 1) if last else length
    except ValueError:
        return None
    if start >= length or stop <= start:
        return None
    return start, stop


def _slice(chunks: Iterator[bytes], start: int, stop: int) -> Iterator[bytes]:
    """Bytes [start, stop) of a chunk stream, without copying whole chunks that are skipped."""
    pos = 0
    for chunk in chunks:
        end = pos + len(chunk)
        if end > start and pos < stop:
            yield chunk[max(0, start - pos) : min(len(chunk), stop - pos)]
        pos = end
        if pos >= stop:
            return
