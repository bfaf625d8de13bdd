"""Counters read through ``GET /_sim/stats``: requests and statuses per endpoint and per job, faults
fired, API keys leaked to storage, and TCP connections (to prove keep-alive reuse)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from typing import Any

ConnKey = tuple[str, int]


class _Counter:
    __slots__ = ("requests", "statuses")

    def __init__(self) -> None:
        self.requests = 0
        self.statuses: dict[int, int] = {}

    def add(self, status: int) -> None:
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def view(self) -> dict[str, Any]:
        return {"requests": self.requests, "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


class _JobCounter(_Counter):
    __slots__ = ("endpoints",)

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: dict[str, _Counter] = {}

    def add_endpoint(self, endpoint: str, status: int) -> None:
        self.add(status)
        counter = self.endpoints.get(endpoint)
        if counter is None:
            counter = self.endpoints[endpoint] = _Counter()
        counter.add(status)

    def view(self) -> dict[str, Any]:
        out = super().view()
        out["endpoints"] = {k: c.view() for k, c in self.endpoints.items()}
        return out


class ConnRecord:
    """One open TCP connection. ``api`` turns True once it carried a vendor or storage request."""

    __slots__ = ("api", "requests", "transport")

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.api = False
        self.requests = 0


class ConnTracker:
    """TCP connections seen by the server, fed by the counting protocol class.

    ``accepted`` counts every connection; ``api_accepted`` only those that carried at least one
    vendor or storage request, so the control client's own connection does not blur the figure.
    """

    def __init__(self) -> None:
        self.open: dict[ConnKey, ConnRecord] = {}
        self.accepted = 0
        self.api_accepted = 0

    def opened(self, key: ConnKey, transport: asyncio.BaseTransport) -> None:
        """A connection was accepted."""
        self.accepted += 1
        self.open[key] = ConnRecord(transport)

    def closed(self, key: ConnKey) -> None:
        """A connection went away."""
        self.open.pop(key, None)

    def record_for(self, client: Any) -> ConnRecord | None:
        """The open connection a request arrived on (by the ASGI ``client`` address)."""
        if not client:
            return None
        return self.open.get((client[0], client[1]))

    def note_request(self, client: Any, api: bool) -> None:
        """Count a request on its connection."""
        rec = self.record_for(client)
        if rec is None:
            return
        rec.requests += 1
        if api and not rec.api:
            rec.api = True
            self.api_accepted += 1

    def reset_counters(self) -> None:
        """Zero the counters (open connections stay open; they count again once they carry a request)."""
        self.accepted = 0
        self.api_accepted = 0
        for rec in self.open.values():
            rec.requests = 0
            rec.api = False  # api_open then counts connections used since this reset

    def view(self) -> dict[str, int]:
        """JSON-ready view."""
        return {
            "accepted": self.accepted,
            "open": len(self.open),
            "api_accepted": self.api_accepted,
            "api_open": sum(1 for r in self.open.values() if r.api),
        }


class Stats:
    """Request counters. ``endpoint`` is the route template, e.g. ``GET /v1/videos/{video_id}``."""

    def __init__(self, connections: ConnTracker) -> None:
        self.connections = connections
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        self.requests_total = 0
        self.endpoints: dict[str, _Counter] = {}
        self.jobs: dict[str, _JobCounter] = {}
        self.faults_fired: dict[str, int] = {}
        self.storage_auth_leaks = 0
        #: Accepted (paid) create requests per request fingerprint (see :func:`request_fingerprint`).
        self.creates: dict[str, int] = {}
        #: The jobs those creates made, per fingerprint, in creation order.
        self.created_jobs: dict[str, list[str]] = {}
        #: Jobs stopped by a vendor ``DELETE`` while queued or running: id -> the phase they were in.
        self.stopped: dict[str, str] = {}
        self.connections.reset_counters()

    def created(self, fingerprint: str, job_id: str | None = None) -> None:
        """Count one accepted create request (a job someone pays for), and remember its job."""
        self.creates[fingerprint] = self.creates.get(fingerprint, 0) + 1
        if job_id is not None:
            self.created_jobs.setdefault(fingerprint, []).append(job_id)

    def job_stopped(self, job_id: str, phase: str) -> None:
        """Note a job deleted before it ended."""
        self.stopped[job_id] = phase

    def record(self, endpoint: str, job_id: str | None, status: int) -> None:
        """Count one answered request."""
        self.requests_total += 1
        counter = self.endpoints.get(endpoint)
        if counter is None:
            counter = self.endpoints[endpoint] = _Counter()
        counter.add(status)
        if job_id is not None:
            jc = self.jobs.get(job_id)
            if jc is None:
                jc = self.jobs[job_id] = _JobCounter()
            jc.add_endpoint(endpoint, status)

    def fault_fired(self, kind: str) -> None:
        """Count a fault that fired."""
        self.faults_fired[kind] = self.faults_fired.get(kind, 0) + 1

    def view(self) -> dict[str, Any]:
        """JSON-ready snapshot."""
        return {
            "requests_total": self.requests_total,
            "endpoints": {k: c.view() for k, c in self.endpoints.items()},
            "jobs": {k: c.view() for k, c in self.jobs.items()},
            "faults_fired": dict(self.faults_fired),
            "storage_auth_leaks": self.storage_auth_leaks,
            "creates": {
                "total": sum(self.creates.values()),
                "by_fingerprint": dict(self.creates),
                "jobs": {k: list(v) for k, v in self.created_jobs.items()},
            },
            "stopped_jobs": dict(self.stopped),
            "connections": self.connections.view(),
        }


def request_fingerprint(api: str, fields: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 over a create request's fields (a file part by its name, type and size)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if hasattr(value, "filename") and hasattr(value, "size"):
            return {"file": value.filename, "type": getattr(value, "content_type", ""), "bytes": value.size}
        return value

    text = json.dumps({"api": api, "fields": plain(fields)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
