"""What an API's router hands the request pipeline (the matched route template, the job it concerns for
per-job faults and counters, the auth check and the handler), and the prefix table that picks the router."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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


_ENDPOINT = re.compile(r"^(?:(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) )?/\S*$")


def disabled_endpoints(value: Any) -> dict[str, int]:
    """Validate endpoints a simulated server does not have: a list of route templates as the counters name
    them (``"GET /v1/videos"``, or ``"/v1/videos"`` for every method), answered 404, or a mapping of
    them to the status to answer instead (``{"GET /v1/videos": 405}``). Raises ``ValueError``."""
    if value is None:
        return {}
    items: Mapping[Any, Any] = value if isinstance(value, Mapping) else dict.fromkeys(_as_list(value), 404)
    out: dict[str, int] = {}
    for name, status in items.items():
        if not isinstance(name, str) or not _ENDPOINT.match(name):
            raise ValueError(f"disabled endpoint {name!r} must look like 'GET /v1/videos' or '/v1/videos'")
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"disabled endpoint {name!r}: status must be an integer 400-599")
        out[name] = status
    return out


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ValueError("disabled_endpoints must be a list of endpoints or an object of endpoint -> status")
    return list(value)


def disabled_status(disabled: Mapping[str, int], endpoint: str) -> int | None:
    """The status a disabled ``endpoint`` answers (its full name first, then its path alone), or None."""
    status = disabled.get(endpoint)
    return status if status is not None else disabled.get(endpoint.partition(" ")[2])
