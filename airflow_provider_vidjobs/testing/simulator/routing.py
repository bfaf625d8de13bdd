"""What an API's router hands the request pipeline (the matched route template, the job it concerns for
per-job faults and counters, the auth check and the handler), and the prefix table that picks the router."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from airflow_provider_vidjobs.testing.simulator.http import Request, Response

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.jobs import Job
    from airflow_provider_vidjobs.testing.simulator.state import SimState

T = TypeVar("T")
Handler = Callable[["SimState", Request, "Routed"], Awaitable[Response]]
AuthCheck = Callable[["SimState", Request], "Response | None"]


@dataclasses.dataclass(slots=True)
class Routed:
    """A matched request. ``api`` is a registered API's name, ``storage`` or ``none``."""

    api: str
    endpoint: str
    handler: Handler
    auth: AuthCheck | None = None
    job_id: str | None = None
    job: Job | None = None


def fixed(response: Response) -> Handler:
    """A handler that always answers ``response`` (unrouted paths, wrong methods)."""

    async def handler(state: SimState, req: Request, routed: Routed) -> Response:
        return response

    return handler


class PrefixTable(Generic[T]):
    """Path prefixes (``"/v1/videos"``) to targets, matched segment by segment; the longest prefix wins."""

    def __init__(self, entries: dict[str, T]) -> None:
        table = [(tuple(p.strip("/").split("/")), target) for p, target in entries.items()]
        self._table = sorted(table, key=lambda item: len(item[0]), reverse=True)

    def match(self, segments: list[str]) -> T | None:
        """The target of the longest prefix ``segments`` start with, or None."""
        for prefix, target in self._table:
            if tuple(segments[: len(prefix)]) == prefix:
                return target
        return None
