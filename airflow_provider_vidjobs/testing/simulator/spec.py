"""What one simulated API hands the core: its routes' prefixes, auth default, error shapes, control-side
job creation and view, options, and the facts the contract test suite needs. The core reads only this.

An API module builds one ``SimApi`` (named ``SPEC``) and is listed in ``apis/__init__.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.http import HeaderList, Request, Response
    from airflow_provider_vidjobs.testing.simulator.jobs import Job
    from airflow_provider_vidjobs.testing.simulator.routing import Routed
    from airflow_provider_vidjobs.testing.simulator.state import SimState

#: ``route(state, request)``: the matched route of a request under one of the API's prefixes.
Router = Callable[["SimState", "Request"], "Routed"]
#: ``status_error(status, retry_after_s)``: the API's own body for an injected ``http_error`` fault.
StatusError = Callable[[int, "float | None"], "Response"]
#: ``new_job(state, fields, job_id, id_style)``: a job made through the control API (raises ``InputError``).
JobFactory = Callable[["SimState", dict[str, Any], "str | None", "str | None"], "Job"]
#: ``view(state, job, base_url, now)``: (the job's wire JSON now, its paths by name) for the control view.
JobView = Callable[["SimState", "Job", str, float], "tuple[dict[str, Any], dict[str, str]]"]


class InputError(ValueError):
    """A control-API job body the API refuses (answered as 400 with this message)."""


@dataclasses.dataclass(frozen=True)
class ApiOption:
    """A start-up setting one API adds (a ``SimulatorConfig`` keyword, a CLI flag, a live config key)."""

    name: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None

    def check(self, value: Any) -> Any:
        """The value, or ``ValueError`` when it is not one of ``choices``."""
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {self.choices}")
        return value


@dataclasses.dataclass(frozen=True)
class ContractFacts:
    """What the shared contract tests need to drive this API (endpoint names as the counters spell them)."""

    #: The endpoint a wait polls (fault rules on it hit every poll).
    job_endpoint: str
    #: The endpoint the video's bytes come from (a storage or content route).
    asset_endpoint: str
    #: The vendor example document in ``tests/fixtures`` (one job as the API documents it).
    fixture: str
    #: A well-formed id of a job that does not exist (for servers that never answer).
    sample_id: str
    #: The wire spelling of each phase: ``queued``, ``running``, ``completed``, ``failed``.
    wire_statuses: Mapping[str, str]
    #: A ``drift`` fault (extra, removed and nulled keys) the package must tolerate on a job read.
    drift: Mapping[str, Any]
    #: Dotted keys that, set to null, leave a job JSON without a video file.
    file_fields: tuple[str, ...] = ()
    #: True when a video file in the job JSON means done whatever the status says.
    file_means_done: bool = False
    #: True when a failed job's JSON carries the error code and message.
    reports_error: bool = True
    #: Dotted key of the prompt in the job JSON (``input.prompt`` where it nests); the hook's prompt is read there.
    prompt_field: str = "prompt"
    #: The endpoint that lists jobs (``"GET /v1/predictions"``), or None when the API documents none. A test
    #: can take it away with ``disabled_endpoints`` to play a gateway that lacks it.
    list_endpoint: str | None = None
    #: Extra control-API fields for test jobs (e.g. an id style with characters a path must encode).
    job_fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Where the package hook can create: the keyword arguments of its ``create_job`` request for a test job
    #: (its simulator timeline comes from a top-level ``sim`` field of the body, in ``extra_params``).
    create_request: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def presigned_storage(self) -> bool:
        """True when the video comes from pre-signed storage URLs rather than an API route."""
        return self.asset_endpoint.startswith("GET /_storage/")


@dataclasses.dataclass(frozen=True)
class SimApi:
    """One simulated API. ``name`` is the connection type of the package API it simulates."""

    name: str
    label: str
    #: Path prefixes served by ``route`` (``"/v1/videos"``); the longest matching prefix wins.
    prefixes: tuple[str, ...]
    default_key: str
    route: Router
    status_error: StatusError
    new_job: JobFactory
    view: JobView
    contract: ContractFacts
    #: Headers added to every response of this API (e.g. a request id), fault responses included.
    response_headers: Callable[[], HeaderList] | None = None
    options: tuple[ApiOption, ...] = ()
