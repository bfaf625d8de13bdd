"""Download a finished job's video (and thumbnail) to a local path or any object storage URL.

Streams in constant memory, writes under a temporary name and renames on success (a failed or cut
download leaves nothing under the final name), checks the size when the API states it, and returns
the sha256. Pre-signed URLs expire, so a fresh one is fetched first, and once more if storage refuses.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_vidjobs.exceptions import DownloadError
from airflow_provider_vidjobs.hooks import assets
from airflow_provider_vidjobs.lineage import VideoJobLineageMixin
from airflow_provider_vidjobs.links import JobLinks, push_job_link
from airflow_provider_vidjobs.waiting import job_reference, make_hook

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_vidjobs.hooks.base import AssetSource, VideoJobHook

_EXTENSIONS = {"video/mp4": "mp4", "image/webp": "webp", "image/jpeg": "jpg", "image/png": "png"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DownloadVideoOperator(VideoJobLineageMixin, BaseOperator):
    """Downloads a job's video to ``destination``; returns ``{path, bytes, sha256, content_type, ...}``.

    :param job: an upstream task's ``VideoJob`` XCom dict, or a job id (templated).
    :param destination: a file path or URL (``/data/v.mp4``, ``s3://bucket/videos/``,
        ``memory://x.mp4``, ``file:///...``); ending in ``/`` means a folder, named by job id.
        ``{job_id}`` and ``{provider}`` are filled in.
    :param conn_id: the API's connection (defaults to the provider's default connection).
    :param include_thumbnail: also download the thumbnail next to the video.
    :param conn_id_storage: an Airflow connection for the destination's object storage, if it needs one.

    Declare ``outlets=[Asset(...)]`` to schedule downstream DAGs on new videos; each outlet's event
    carries the job id, path and sha256 as extra.
    """

    template_fields: Sequence[str] = ("job", "destination", "conn_id", "provider")
    operator_extra_links = JobLinks()  # the "Video job" link, stored only when there is one

    def __init__(
        self,
        *,
        job: str | Mapping[str, Any],
        destination: str,
        conn_id: str | None = None,
        provider: str | None = None,
        include_thumbnail: bool = False,
        conn_id_storage: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.destination = destination
        self.conn_id = conn_id
        self.provider = provider
        self.include_thumbnail = include_thumbnail
        self.conn_id_storage = conn_id_storage

    def execute(self, context: Context) -> dict[str, Any]:
        job_id, provider = job_reference(self.job, self.provider)
        hook = make_hook(provider, self.conn_id)
        job_id = hook.validate_job_id(job_id)
        push_job_link(context, hook, job_id)
        result = self._download(hook, job_id, "video")
        if self.include_thumbnail:
            result["thumbnail"] = self._download(hook, job_id, "thumbnail", sibling_of=result["path"])
        for outlet in self.outlets or []:
            try:
                context["outlet_events"][outlet].extra = {
                    "provider": hook.provider,
                    "job_id": job_id,
                    "path": result["path"],
                    "sha256": result["sha256"],
                }
            except (KeyError, TypeError, AttributeError):
                self.log.debug("outlet %r takes no event extra", outlet)
        return result

    def _download(self, hook: VideoJobHook, job_id: str, variant: str, sibling_of: str | None = None) -> dict[str, Any]:
        for attempt in (1, 2):
            source = hook.asset_source(job_id, variant)
            try:
                return self._fetch(hook, source, job_id, variant, sibling_of)
            except DownloadError as error:
                if attempt == 2 or not error.expired:
                    raise
                self.log.warning("%s; fetching a fresh URL and trying once more", error)
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch(
        self, hook: VideoJobHook, source: AssetSource, job_id: str, variant: str, sibling_of: str | None
    ) -> dict[str, Any]:
        with hook.open_asset(source) as response:
            content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
            # With a content coding (a server that ignored our "identity"), Content-Length counts encoded bytes.
            declared = None if assets.is_encoded(response) else response.headers.get("content-length")
            expected = int(declared) if declared and declared.isdigit() else None
            if source.expected_size is not None and expected is not None and source.expected_size != expected:
                raise DownloadError(
                    f"the API says the {variant} is {source.expected_size} bytes but storage sends {expected}",
                    provider=hook.provider,
                    job_id=job_id,
                    hint="The file may have been replaced; run the task again, or check with the vendor",
                )
            expected = expected if expected is not None else source.expected_size
            target = self._target(hook.provider, job_id, variant, content_type, sibling_of)
            self.log.info("downloading %s %s of job %s to %s", hook.provider, variant, job_id, target)
            started = time.monotonic()
            with _atomic_writer(target) as sink:
                chunks = assets.body_chunks(response, source, hook.provider)
                size, digest = _copy(chunks, sink, expected, self.log.info)
                if expected is not None and size != expected:
                    raise DownloadError(
                        f"got {size} bytes of the {variant}, expected {expected}",
                        provider=hook.provider,
                        job_id=job_id,
                        hint="The download was cut short or the file changed; run the task again",
                    )
        elapsed = max(time.monotonic() - started, 1e-6)
        self.log.info("saved %d bytes to %s (%.1f MB/s, sha256 %s)", size, target, size / elapsed / 1e6, digest)
        return {
            "provider": hook.provider,
            "job_id": job_id,
            "variant": variant,
            "path": str(target),
            "bytes": size,
            "sha256": digest,
            "content_type": content_type,
        }

    def _target(self, provider: str, job_id: str, variant: str, content_type: str, sibling_of: str | None) -> Any:
        ext = _EXTENSIONS.get(content_type, "bin")
        safe_id = _UNSAFE.sub("_", job_id)[:200]
        if sibling_of is not None:
            base = _path(sibling_of, self.conn_id_storage)
            return base.with_name(f"{base.stem}.{variant}.{ext}")
        raw = self.destination.replace("{job_id}", safe_id).replace("{provider}", provider)
        if raw.endswith("/"):
            return _path(raw, self.conn_id_storage) / f"{provider}-{safe_id}.{ext}"
        return _path(raw, self.conn_id_storage)


def _path(raw: str, conn_id: str | None) -> Any:
    """A local ``Path`` for plain paths, an ``ObjectStoragePath`` for URLs (``s3://``, ``memory://``...)."""
    if "://" not in raw:
        return Path(raw).expanduser()
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    try:
        path = ObjectStoragePath(raw, conn_id=conn_id) if conn_id else ObjectStoragePath(raw)
        _ = path.fs  # resolved lazily; fail here, not halfway through a download
        return path
    except ValueError:
        # A scheme no Airflow provider registers (memory://, gcs without the google provider...): plain fsspec.
        from upath import UPath

        return UPath(raw)


def _is_local(path: Any) -> bool:
    """A plain filesystem path (object-storage paths carry an fsspec ``fs``; UPath may subclass Path)."""
    return isinstance(path, Path) and not hasattr(path, "fs")


@contextmanager
def _atomic_writer(target: Any) -> Iterator[IO[bytes]]:
    """Write to ``.<name>.part-<random>`` beside the target; rename over it only if the block succeeds."""
    temp = target.with_name(f".{target.name}.part-{uuid.uuid4().hex[:8]}")
    local = _is_local(target)
    with nullcontext() if local else suppress(NotImplementedError, OSError):
        target.parent.mkdir(parents=True, exist_ok=True)  # object stores may have no real folders
    try:
        with temp.open("wb") as sink:
            yield sink
        if local:
            temp.replace(target)
        else:
            temp.rename(target)
    except BaseException:
        with suppress(FileNotFoundError, OSError):
            temp.unlink()
        raise


def _copy(chunks: Iterator[bytes], sink: IO[bytes], expected: int | None, log: Any) -> tuple[int, str]:
    """Copy chunks to ``sink``, hashing as we go and logging progress every 10% (or 100 MB)."""
    digest = hashlib.sha256()
    size, next_report = 0, 0.1
    step = 100 * 1024 * 1024
    for chunk in chunks:
        sink.write(chunk)
        digest.update(chunk)
        size += len(chunk)
        if expected:
            if size / expected >= next_report and size < expected:
                log("downloaded %d%% (%d of %d bytes)", int(size * 100 / expected), size, expected)
                next_report += 0.1
        elif size >= step * next_report * 10:
            log("downloaded %d bytes", size)
            next_report += 0.1
    return size, digest.hexdigest()
