"""OpenLineage for video jobs: what a task made, from which images, into which file.

``apache-airflow-providers-openlineage`` calls ``get_openlineage_facets_on_start/complete/failure`` on an
operator that has them (as for dbt Cloud's or Google's operators). :class:`VideoJobLineageMixin` gives
them to the create operator, the sensor and the download operator:

- a run facet ``vidjobs`` (:class:`~airflow_provider_vidjobs.lineage_facets.VidjobsRunFacet`): vendor,
  job id, model, status, duration (the job's creation, or start, to its end) and cost where the API
  gives it;
- input datasets: the create request's image (a local file, or an http(s) URL without its query);
- output datasets: the downloaded video (and thumbnail) where it was written.

The job is read from what the task left in XCom (its ``return_value``, or the ``job_id`` the create
pushed at once), never from attributes set before a deferral: a resumed task is a new operator object.

Nothing here imports OpenLineage until the provider asks for lineage, and without it every method
returns None, so the package does not depend on it. Names follow OpenLineage's naming conventions as
Airflow's own file assets do: a local file is namespace ``file``, name its absolute path; an object in
``s3://bucket/key`` is namespace ``s3://bucket``, name ``key``; a URL is namespace ``https://host``, name
its path (the query, which may hold a signature, and any ``user:password@`` are never kept).
"""

from __future__ import annotations

import ast
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: Object stores whose names are keys inside a bucket (no leading slash), per OpenLineage's naming.
_BUCKET_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "az", "wasb", "wasbs", "oss", "hdfs"})


@dataclass
class JobLineage:
    """What one task reports, as plain values (turned into OpenLineage objects by :func:`to_operator_lineage`)."""

    vendor: str | None = None
    job_id: str | None = None
    model: str | None = None
    status: str | None = None
    duration_seconds: float | None = None
    cost: str | None = None
    #: (namespace, name) of each input and output dataset
    inputs: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)

    def add_job(self, job: Mapping[str, Any] | None) -> JobLineage:
        """Fill in what a ``VideoJob`` XCom dict says (what is already known wins for vendor and id)."""
        if not isinstance(job, Mapping):
            return self
        self.vendor = self.vendor or _text(job.get("provider"))
        self.job_id = self.job_id or _text(job.get("job_id"))
        self.model = _text(job.get("model")) or self.model
        self.status = _text(job.get("status")) or self.status
        self.cost = _text(job.get("cost")) or self.cost
        self.duration_seconds = duration_seconds(job) if duration_seconds(job) is not None else self.duration_seconds
        return self


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def duration_seconds(job: Mapping[str, Any]) -> float | None:
    """Seconds from the job's creation (or, where the API gives no creation time, its start) to its end."""
    end = _time(job.get("completed_at"))
    begin = _time(job.get("created_at")) or _time(job.get("started_at"))
    if end is None or begin is None:
        return None
    try:
        seconds = (end - begin).total_seconds()
    except TypeError:  # one naive, one aware: not comparable
        return None
    return round(seconds, 3) if seconds >= 0 else None


def dataset_of(location: Any) -> tuple[str, str] | None:
    """(namespace, name) of a file path or URL per OpenLineage's naming; None for what names no place."""
    if isinstance(location, os.PathLike):
        location = os.fspath(location)
    if isinstance(location, Mapping):  # {"image_url": ...} as the create operator takes it
        location = location.get("image_url")
    if not isinstance(location, str) or not location.strip() or location.startswith("data:"):
        return None
    if "://" not in location:
        return "file", os.path.abspath(os.path.expanduser(location))
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if scheme == "file":
        return ("file" if host in ("", "localhost") else f"file://{host}"), parts.path
    if scheme in _BUCKET_SCHEMES:
        return f"{'gs' if scheme == 'gcs' else scheme}://{host}", parts.path.lstrip("/")
    if not host:  # memory://x.mp4 and other hostless stores: the first segment is the name's start
        return f"{scheme}://", (parts.netloc + parts.path).lstrip("/")
    return f"{scheme}://{host}", parts.path or "/"


def to_operator_lineage(lineage: JobLineage) -> Any:
    """The provider's ``OperatorLineage`` for ``lineage``, or None when OpenLineage is not installed."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset

        from airflow_provider_vidjobs.lineage_facets import FACET_NAME, VidjobsRunFacet
    except ImportError:
        return None
    facet = VidjobsRunFacet(
        vendor=lineage.vendor,
        jobId=lineage.job_id,
        model=lineage.model,
        status=lineage.status,
        durationSeconds=lineage.duration_seconds,
        cost=lineage.cost,
    )
    return OperatorLineage(
        inputs=[Dataset(namespace=ns, name=name) for ns, name in lineage.inputs],
        outputs=[Dataset(namespace=ns, name=name) for ns, name in lineage.outputs],
        run_facets={FACET_NAME: facet},
    )


def _pull(task_instance: Any, task_id: str, key: str) -> Any:
    """This task instance's own XCom ``key`` (its map index only), or None if it cannot be read."""
    try:
        return task_instance.xcom_pull(task_ids=task_id, key=key, map_indexes=task_instance.map_index)
    except Exception:  # lineage never fails a task, nor hides its real error
        log.debug("OpenLineage: could not read XCom %s of %s", key, task_id, exc_info=True)
        return None


class VideoJobLineageMixin:
    """``get_openlineage_facets_on_*`` for the operators and sensors of this package (see the module doc).

    What it reads of the operator, each only if present: ``provider``; ``job_id`` (the sensor's) or
    ``job`` (the download's), as rendered; ``input_reference`` (the create's image); ``hook`` (a
    property or a method, for the vendor when nothing else names it).
    """

    task_id: str

    # ----- what the provider calls -----

    def get_openlineage_facets_on_start(self) -> Any:
        return self._lineage_safely(None, finished=False, failed=False)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage_safely(task_instance, finished=True, failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._lineage_safely(task_instance, finished=True, failed=True)

    # ----- how -----

    def _lineage_safely(self, task_instance: Any, *, finished: bool, failed: bool) -> Any:
        try:
            return to_operator_lineage(self.video_job_lineage(task_instance, finished=finished, failed=failed))
        except Exception:
            log.warning("OpenLineage: no lineage for task %s", getattr(self, "task_id", "?"), exc_info=True)
            return None

    def video_job_lineage(self, task_instance: Any, *, finished: bool, failed: bool) -> JobLineage:
        """The lineage as plain values (what the tests check; no OpenLineage import)."""
        lineage = JobLineage()
        request = getattr(self, "request", None)
        image_given = getattr(self, "input_reference", None)
        if image_given is None and isinstance(request, Mapping):
            image_given = request.get("input_reference")  # GenerateVideoOperator's request, as rendered
        if (image := dataset_of(image_given)) is not None:
            lineage.inputs.append(image)
        given = self._given_job()
        if isinstance(given, Mapping):
            lineage.add_job(given)
        elif given:
            lineage.job_id = str(given)
        provider = getattr(self, "provider", None)
        if isinstance(provider, str) and provider and "{" not in provider:
            lineage.vendor = provider
        if finished and task_instance is not None:
            result = None if failed else _pull(task_instance, self.task_id, "return_value")
            if isinstance(result, Mapping) and "sha256" in result and "path" in result:  # a download's result
                lineage.vendor = lineage.vendor or _text(result.get("provider"))
                lineage.job_id = _text(result.get("job_id")) or lineage.job_id
                for item in (result, result.get("thumbnail")):
                    if isinstance(item, Mapping) and (out := dataset_of(item.get("path"))) is not None:
                        lineage.outputs.append(out)
            elif isinstance(result, Mapping) and "status" in result:  # a VideoJob
                lineage.add_job(result)
                lineage.job_id = _text(result.get("job_id")) or lineage.job_id
            if lineage.job_id is None:  # the create pushes the id at once; it survives a deferral
                lineage.job_id = _text(_pull(task_instance, self.task_id, "job_id"))
        if lineage.vendor is None:
            lineage.vendor = self._hook_provider()
        return lineage

    def _given_job(self) -> Any:
        """The sensor's ``job_id`` or the download's ``job`` as rendered: an id, a VideoJob dict, or None."""
        for name in ("job_id", "job"):
            value = getattr(self, name, None)
            if isinstance(value, str) and value.lstrip().startswith("{"):
                try:
                    value = json.loads(value)
                except ValueError:
                    try:
                        value = ast.literal_eval(value.strip())
                    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                        return None
            if isinstance(value, Mapping) and "job_id" in value:
                return value
            if isinstance(value, str) and value.strip() and "{{" not in value:
                return value.strip()
        return None

    def _hook_provider(self) -> str | None:
        hook = getattr(type(self), "hook", None)
        provider = getattr(hook, "provider", None)  # a hook class
        if isinstance(provider, str) and provider:
            return provider
        try:
            instance = getattr(self, "hook", None)
            instance = instance() if callable(instance) else instance
        except Exception:
            return None
        return _text(getattr(instance, "provider", None))
