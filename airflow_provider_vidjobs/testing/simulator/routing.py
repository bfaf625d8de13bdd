"""What a vendor router hands the request pipeline: the matched route template, the job it concerns
(for per-job faults and counters), the auth check and the handler."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from airflow_provider_vidjobs.testing.simulator.http import Request, Response

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.jobs import Job
    from airflow_provider_vidjobs.testing.simulator.state import SimState

Handler = Callable[["SimState", Request, "Routed"], Awaitable[Response]]
AuthCheck = Callable[["SimState", Request], "Response | None"]


@dataclasses.dataclass(slots=True)
class Routed:
    """A matched request. ``api`` is ``tensorpix``, ``aihubmix`` or ``storage``."""

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
