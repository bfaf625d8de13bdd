"""The OpenLineage events a deployment wrote with the file transport (one JSON event per file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_events(folder: Path) -> list[dict[str, Any]]:
    """Every event in ``folder``, in the order written (file names carry the time)."""
    events = []
    for path in sorted(folder.glob("event-*.json")):
        text = path.read_text().strip()
        if text:
            events.append(json.loads(text))
    return events


def run_facets(events: list[dict[str, Any]], dag_id: str, task_id: str, event_type: str) -> list[dict[str, Any]]:
    """The run facets of ``dag_id.task_id``'s events of ``event_type`` (START, COMPLETE, FAIL)."""
    name = f"{dag_id}.{task_id}"
    return [
        e["run"]["facets"] for e in events if e.get("job", {}).get("name") == name and e.get("eventType") == event_type
    ]


def outputs(events: list[dict[str, Any]], dag_id: str, task_id: str, event_type: str) -> list[tuple[str, str]]:
    name = f"{dag_id}.{task_id}"
    return [
        (d["namespace"], d["name"])
        for e in events
        if e.get("job", {}).get("name") == name and e.get("eventType") == event_type
        for d in e.get("outputs") or []
    ]
