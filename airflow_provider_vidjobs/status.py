"""Vendor status strings -> :class:`JobStatus`: one table per API, common spellings, user overrides.

TensorPix does not document its status strings, so the mapping is tolerant: common spellings in any
case, anything unknown treated as still running (logged once), and callers may override per task.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from airflow_provider_vidjobs.models import JobStatus

log = logging.getLogger(__name__)

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
