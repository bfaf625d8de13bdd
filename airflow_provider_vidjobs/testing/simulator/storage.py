"""Assets that completed jobs serve, and the pre-signed storage URLs an API may hand out for them.

The small real assets ship as package data (``assets/``, made once with ffmpeg). A job may ask for a
video of any size: the real MP4 followed by one ``free`` box of deterministic filler, so it stays a
valid MP4 of the same duration, is streamed in chunks, and its sha256 is computable
(``synthetic_video_sha256``). Every job's file is distinct (its id is in it), as real jobs' videos are.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import struct
import zlib
from collections.abc import Iterator
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.jobs import Job

CHUNK = 1 << 20
_FILL_SEED = b"vidjobs-simulator-filler-v1"


@dataclasses.dataclass(frozen=True)
class Assets:
    """The packaged sample files and the facts about the video."""

    video: bytes
    thumbnail_webp: bytes
    thumbnail_jpg: bytes
    spritesheet_jpg: bytes
    width: int
    height: int
    n_frames: int
    framerate: float
    duration_s: float


@functools.cache
def assets() -> Assets:
    """Load the packaged assets once."""
    folder = resources.files("airflow_provider_vidjobs.testing.simulator").joinpath("assets")
    manifest = json.loads(folder.joinpath("manifest.json").read_text("utf-8"))
    facts = manifest["video"]
    return Assets(
        video=folder.joinpath("sample.mp4").read_bytes(),
        thumbnail_webp=folder.joinpath("thumbnail.webp").read_bytes(),
        thumbnail_jpg=folder.joinpath("thumbnail.jpg").read_bytes(),
        spritesheet_jpg=folder.joinpath("spritesheet.jpg").read_bytes(),
        width=int(facts["width"]),
        height=int(facts["height"]),
        n_frames=int(facts["n_frames"]),
        framerate=float(facts["framerate"]),
        duration_s=float(facts["duration_s"]),
    )


@functools.cache
def _fill_block() -> bytes:
    """1 MiB of deterministic filler, repeated to pad large videos."""
    return hashlib.shake_256(_FILL_SEED).digest(CHUNK)


def video_size(size: int | None) -> int:
    """The byte size actually served for a requested ``asset_size_bytes`` (None: the real MP4)."""
    return len(assets().video) if size is None else size


def job_video(job_id: str = "") -> bytes:
    """The packaged MP4 as served for job ``job_id``: the same length, and distinct for every job.

    The ``ftyp`` box's ``minor_version`` (bytes 12-16; informative, players ignore it) holds the CRC-32 of
    the job id, so each job's file has its own sha256 and is still the same playable MP4 (nothing moves:
    the ``moov`` box's chunk offsets stay right). ``""``: the packaged file as is.
    """
    base = assets().video
    if not job_id:
        return base
    return base[:12] + struct.pack(">I", zlib.crc32(job_id.encode())) + base[16:]


def synthetic_video_chunks(size: int | None, chunk: int = CHUNK, *, job_id: str = "") -> Iterator[bytes]:
    """The video bytes of job ``job_id`` for ``asset_size_bytes=size``, in chunks.

    ``None`` (or the real size) is the packaged MP4 (:func:`job_video`). A larger size is that MP4 plus
    one ``free`` box (16-byte large-size header, then ``vidjobs-simulator job <id>`` and repeated
    filler) filling it up to exactly ``size`` bytes; a smaller size is a prefix of the MP4.
    """
    base = job_video(job_id)
    if size is None:
        yield base
        return
    if size <= len(base) + 16:
        padded = base + struct.pack(">I4sQ", 1, b"free", max(size - len(base), 16))
        yield padded[:size]
        return
    left = size - len(base) - 16
    tag = f"vidjobs-simulator job {job_id}\n".encode()[:left] if job_id else b""
    yield base + struct.pack(">I4sQ", 1, b"free", size - len(base)) + tag
    left -= len(tag)
    block = _fill_block()
    if chunk != len(block):
        block = (block * (chunk // len(block) + 1))[:chunk]
    while left >= len(block):
        yield block
        left -= len(block)
    if left:
        yield block[:left]


def synthetic_video_sha256(size: int | None, job_id: str = "") -> str:
    """sha256 hex of the video served for job ``job_id`` with ``asset_size_bytes=size`` (for tests and benchmarks)."""
    digest = hashlib.sha256()
    for piece in synthetic_video_chunks(size, job_id=job_id):
        digest.update(piece)
    return digest.hexdigest()


def storage_endpoint(api: str) -> str:
    """The counters' and fault rules' name for ``api``'s storage objects."""
    return f"GET /_storage/{api}/{{job_id}}/{{file}}"


def object_paths(job: Job) -> tuple[str, str]:
    """Storage paths of a job's video file and its thumbnail (``/_storage/<api>/<job id>/<video id>``)."""
    base = f"/_storage/{job.api}/{job.id}/{job.video_id}"
    return base + ".mp4", base + ".jpg"


class StorageSigner:
    """HMAC-signs storage paths with an expiry, like an S3 pre-signed URL."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def signature(self, path: str, expires: int) -> str:
        """Hex HMAC-SHA256 over the path and the expiry."""
        return hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, base_url: str, path: str, expires: int) -> str:
        """Absolute pre-signed URL."""
        return f"{base_url}{path}?expires={expires}&signature={self.signature(path, expires)}"

    def valid(self, path: str, expires: str, signature: str) -> bool:
        """True if ``signature`` was made by this signer for ``path`` and ``expires``."""
        try:
            exp = int(expires)
        except ValueError:
            return False
        return hmac.compare_digest(self.signature(path, exp), signature)
