"""Where a create task remembers the job it paid for, so a retry or a clear re-attaches instead of re-creating.

A try writes its intent (the request's fingerprint, no id) before it POSTs and the job id right after.
The next try re-attaches to a recorded job (one that answers 404 is read again, then looked for in the
API's list, before it counts as gone). An intent without an id means the answer was lost: that try's
job is looked for in the API's list (``find_created_jobs``) before another is paid for, and where the
API has no list ``on_orphaned_intent`` decides (``"fail"`` by default).

One record per task instance (dag_id, task_id, run_id, map_index): the job id and a fingerprint of the
request. It lives in Airflow 3.3's ``task_state_store`` (scoped to the task instance, kept across tries and
clears, deleted with the DAG run and after ``[state_store] default_retention_days``); on Airflow 3.1/3.2,
which have no such store, in an Airflow Variable named per task instance (expired on read after
:data:`VARIABLE_TTL_S`). Both go through the execution API, so they work with every executor and survive
a worker ``kill -9``. A record holds ids, hashes and times: never a key, URL or prompt text.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_vidjobs.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    JobNotFoundError,
    OrphanLookupUnavailableError,
    RateLimitedError,
    VideoAPIError,
    VideoJobError,
)
from airflow_provider_vidjobs.models import JobStatus

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook
    from airflow_provider_vidjobs.models import VideoJob

#: Key of the record in ``task_state_store`` (Airflow 3.3+).
STATE_KEY = "vidjobs_reattach"
#: Prefix of the Variables that hold records on Airflow 3.1/3.2.
VARIABLE_PREFIX = "vidjobs_reattach__"
#: Seconds a Variable record is honoured (matches ``[state_store] default_retention_days`` = 30).
VARIABLE_TTL_S = 30 * 24 * 3600.0
_FORMAT = 1


@dataclass(frozen=True)
class ReattachRecord:
    """What an earlier try created: ``job_id`` None means it was about to POST (the window, see README)."""

    fingerprint: str
    provider: str
    job_id: str | None = None
    written_at: float = 0.0
    format: int = _FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> ReattachRecord | None:
        """The record, or None for anything this version did not write (never trusted blindly)."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        if not isinstance(value, Mapping) or value.get("format") != _FORMAT:
            return None
        fingerprint, provider, job_id = value.get("fingerprint"), value.get("provider"), value.get("job_id")
        if not isinstance(fingerprint, str) or not isinstance(provider, str):
            return None
        if job_id is not None and not isinstance(job_id, str):
            return None
        written_at = value.get("written_at")
        return cls(
            fingerprint=fingerprint,
            provider=provider,
            job_id=job_id,
            written_at=float(written_at) if isinstance(written_at, int | float) else 0.0,
        )


class ReattachStore(Protocol):
    """Reads and writes the one record of the running task instance."""

    name: str

    def load(self) -> ReattachRecord | None: ...

    def save(self, record: ReattachRecord) -> None: ...

    def forget(self) -> None: ...


def fingerprint(fields: Mapping[str, Any]) -> str:
    """A SHA-256 of the request's fields (canonical JSON; bytes hashed first), so a changed request differs."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    text = json.dumps(plain(fields), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def identity(ti: Any) -> str:
    """``dag_id/task_id/run_id/map_index`` hashed: the same for every try and clear of one task instance."""
    map_index = getattr(ti, "map_index", None)
    parts = [ti.dag_id, ti.task_id, ti.run_id, str(-1 if map_index is None else map_index)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


class TaskStateStore:
    """Airflow 3.3+: ``context["task_state_store"]``, kept with the DAG run and its retention."""

    name = "task_state_store"

    def __init__(self, accessor: Any) -> None:
        self._accessor = accessor

    def load(self) -> ReattachRecord | None:
        return ReattachRecord.from_json(self._accessor.get(STATE_KEY))

    def save(self, record: ReattachRecord) -> None:
        self._accessor.set(STATE_KEY, record.to_json())

    def forget(self) -> None:
        self._accessor.delete(STATE_KEY)


class VariableStore:
    """Airflow 3.1/3.2: a Variable per task instance; one past :data:`VARIABLE_TTL_S` is deleted when read."""

    name = "Variable"

    def __init__(self, key: str, variables: Any = None) -> None:
        if variables is None:
            from airflow.providers.common.compat.sdk import Variable

            variables = Variable
        self.key = key
        self._variables = variables

    def load(self) -> ReattachRecord | None:
        record = ReattachRecord.from_json(self._variables.get(self.key, default=None))
        if record is not None and time.time() - record.written_at > VARIABLE_TTL_S:
            self.forget()
            return None
        return record

    def save(self, record: ReattachRecord) -> None:
        self._variables.set(
            self.key,
            json.dumps(record.to_json()),
            description="airflow-provider-vidjobs: the video job this task instance created (re-attach on retry)",
        )

    def forget(self) -> None:
        """Delete the Variable; where the SDK has no ``Variable.delete``, blank it (read back as no record)."""
        delete = getattr(self._variables, "delete", None)
        if delete is not None:
            delete(self.key)
        else:
            self._variables.set(self.key, "{}", description="airflow-provider-vidjobs: no job recorded")


def store_for(context: Mapping[str, Any]) -> ReattachStore:
    """The task-state store when Airflow has one (3.3+), else a Variable (the only store that survives tries)."""
    accessor = context.get("task_state_store")
    if accessor is not None:
        return TaskStateStore(accessor)
    return VariableStore(VARIABLE_PREFIX + identity(context["ti"]))


def new_record(fingerprint: str, provider: str, job_id: str | None) -> ReattachRecord:
    """A record written now."""
    return ReattachRecord(fingerprint=fingerprint, provider=provider, job_id=job_id, written_at=time.time())


def request_fingerprint(hook: VideoJobHook, request: Mapping[str, Any]) -> str:
    """The fingerprint of a create request on this hook's connection (another account is another job)."""
    fields = {k: asdict(v) if is_dataclass(v) and not isinstance(v, type) else v for k, v in request.items()}
    return fingerprint({"provider": hook.provider, "conn_id": hook.conn_id, "request": fields})


class Reattacher:
    """Decides, for one try, whether an earlier try's job can be reused, and records a new one at once.

    :param request: the create's fields (what :meth:`VideoJobHook.find_created_jobs` matches listed jobs on).
    :param on_orphaned_intent: what to do when an earlier try sent a create whose answer it never read and
        the API has no list to look for that job in: ``"fail"`` (the default: the task fails, naming the
        window and the vendor's console) or ``"create"`` (create another, accepting it may pay twice).
    """

    def __init__(
        self,
        store: ReattachStore,
        fingerprint: str,
        hook: VideoJobHook,
        log: Any,
        *,
        request: Mapping[str, Any] | None = None,
        on_orphaned_intent: str = "fail",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.hook = hook
        self.log = log
        self.request: Mapping[str, Any] = request or {}
        self.on_orphaned_intent = check_orphan_policy(on_orphaned_intent)
        self._sleep = sleep
        #: What :meth:`reusable_job` found (restored when the API refuses the new create outright).
        self.previous: ReattachRecord | None = None

    def _load(self) -> ReattachRecord | None:
        try:
            return self.store.load()
        except Exception as error:  # the execution API or a custom state backend: never guess "no job"
            raise VideoJobError(
                f"could not read this task's re-attach record from the {self.store.name} ({error}); not creating "
                "a job, since an earlier try's job may exist",
                provider=self.hook.provider,
                hint="Retry the task once the Airflow API answers, or set reattach=False to create a new job",
            ) from None

    def reusable_job(self) -> VideoJob | None:
        """The job an earlier try created for this same request, unless it failed, was cancelled or is gone."""
        record = self.previous = self._load()
        if record is None:
            return None
        provider = self.hook.provider
        if record.fingerprint != self.fingerprint or record.provider != provider:
            self.log.info(
                "an earlier try created %s job %s for a different request (prompt, model, seconds, size, input "
                "reference, extra params or connection changed): creating a new job",
                record.provider,
                record.job_id,
            )
            return None
        job = self._orphan(record) if record.job_id is None else self._recorded(record, record.job_id)
        if job is None:
            return None
        if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            self.log.warning(
                "%s job %s, created by an earlier try, ended %s (%s): creating a new job",
                provider,
                job.job_id,
                job.status.value,
                job.summary(),
            )
            return None
        self.log.info(
            "re-attaching to %s job %s (%s), created by an earlier try of this task for the same request: "
            "no new job is created",
            provider,
            job.job_id,
            job.status.value,
        )
        return job

    def _recorded(self, record: ReattachRecord, job_id: str) -> VideoJob | None:
        """The recorded job; a 404 is read again after a pause, then looked for in the list, before it is gone."""
        provider = self.hook.provider
        with suppress(JobNotFoundError):
            return self.hook.get_job(job_id)
        self._sleep(GONE_CONFIRM_DELAY_S)  # one 404 may be a replica that has not seen the job yet
        with suppress(JobNotFoundError):
            return self.hook.get_job(job_id)
        if self.hook.can_find_created:
            since, until = datetime_window(record.written_at - CREATE_WINDOW_S, time.time())
            try:
                listed = [
                    job for job in self.hook.find_created_jobs(self.request, since, until) if job.job_id == job_id
                ]
            except OrphanLookupUnavailableError:
                listed = []
            if listed:
                self.log.warning(
                    "%s job %s, created by an earlier try, answered 404 twice but is in the API's job list: "
                    "re-attaching to it",
                    provider,
                    job_id,
                )
                return listed[0]
        self.log.warning(
            "%s job %s, created by an earlier try, is gone at the API (404 twice, %.0f s apart%s): creating a new job",
            provider,
            job_id,
            GONE_CONFIRM_DELAY_S,
            ", and not in its job list" if self.hook.can_find_created else "",
        )
        return None

    def _orphan(self, record: ReattachRecord) -> VideoJob | None:
        """An earlier try sent a create and never read the answer: find that job before paying for another."""
        provider = self.hook.provider
        since, until = self.intent_window(record)
        window = f"between {since:%Y-%m-%d %H:%M:%S} and {until:%H:%M:%S} UTC"
        try:
            candidates = self.hook.find_created_jobs(self.request, since, until)
        except OrphanLookupUnavailableError as error:
            self._no_way_to_look(window, error)
            return None
        except VideoAPIError as error:
            raise VideoJobError(
                f"an earlier try sent a create request {window} and stopped before reading its answer, and "
                f"looking for that job failed ({error.summary}); not creating another, which could pay twice",
                provider=provider,
                http_status=error.http_status,
                hint='The next try looks again; set on_orphaned_intent="create" only if you accept a second job',
            ) from None
        live = [job for job in candidates if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED)]
        if not candidates:
            self.log.info(
                "an earlier try sent a create request %s and stopped before reading its answer; %s's job list has "
                "no job with this request's fields from then, so the request never made one: creating a new job",
                window,
                provider,
            )
            return None
        if not live:
            self.log.warning(
                "an earlier try's create request %s made %s job(s) %s, which ended failed or cancelled: creating a "
                "new job",
                window,
                provider,
                ", ".join(job.job_id for job in candidates),
            )
            return None
        chosen = live[0]
        if len(live) > 1:
            self.log.warning(
                "an earlier try sent a create request %s and stopped before reading its answer; %s's job list has "
                "%d jobs with this request's fields from then (%s): re-attaching to the earliest, %s. The others "
                "may belong to other tasks with the same request, or be paid for twice: check them in the "
                "vendor's console",
                window,
                provider,
                len(live),
                ", ".join(job.job_id for job in live),
                chosen.job_id,
            )
        else:
            self.log.info(
                "an earlier try sent a create request %s and stopped before reading its answer; found the job it "
                "made in %s's job list: %s",
                window,
                provider,
                chosen.job_id,
            )
        self._remember(chosen.job_id)
        return chosen

    def _no_way_to_look(self, window: str, error: OrphanLookupUnavailableError) -> None:
        spec = self.hook.api_spec
        vendor = spec.vendor if spec else self.hook.provider
        console = (spec.console_url if spec else "") or f"{vendor}'s web console"
        if self.on_orphaned_intent == "create":
            self.log.warning(
                "an earlier try sent a create request %s and stopped before reading its answer, and %s: creating a "
                'new job as on_orphaned_intent="create" says (if the first request made a job, both are paid for)',
                window,
                error.summary,
            )
            return None
        raise VideoJobError(
            f"an earlier try sent a create request {window} and stopped before reading its answer, so a job may "
            f"exist and be billed; {vendor} {error.summary}. Not creating another, which could pay twice",
            provider=self.hook.provider,
            hint=f"Look for a job from that window in {console}. If there is none, or paying twice is acceptable, "
            'set on_orphaned_intent="create" on the task and run it again',
        )

    def intent_window(self, record: ReattachRecord) -> tuple[datetime, datetime]:
        """When the vendor may have created the job of an intent written at ``record.written_at``.

        From the intent to the end of the create request's longest life (its connect tries, then its read
        timeout), widened by :data:`CLOCK_SKEW_S` each side for the vendor's clock.
        """
        settings = self.hook.settings
        life = settings.retry.max_attempts * settings.connect_timeout + settings.timeout + CREATE_SLACK_S
        return datetime_window(record.written_at, record.written_at + life)

    def _remember(self, job_id: str) -> None:
        try:
            self.store.save(new_record(self.fingerprint, self.hook.provider, job_id))
        except Exception as error:  # the job is found: wait on it; the next try looks for it again
            self.log.warning(
                "could not record %s job %s in the %s (%s)", self.hook.provider, job_id, self.store.name, error
            )

    def create(self, post: Callable[[], VideoJob]) -> VideoJob:
        """Record the intent, POST, and record the job id right after the API accepted it (the window).

        A refusal (no job can exist) withdraws the intent; any other failure keeps it, so the next try
        looks for the job the request may have made before paying for another.
        """
        self.store.save(new_record(self.fingerprint, self.hook.provider, None))
        try:
            job = post()
        except (InvalidRequestError, AuthenticationError, JobNotFoundError, RateLimitedError, ValueError):
            # Refused before any job existed (400, 401/403, a 404 route, 429, an invalid argument): none is unseen.
            self._withdraw()
            raise
        try:
            self.store.save(new_record(self.fingerprint, self.hook.provider, job.job_id))
        except Exception as error:  # the job exists and is paid for: wait on it rather than fail the try
            self.log.error(
                "%s job %s was created but could not be recorded in the %s (%s): if this try fails, a retry "
                "looks for it in the API's job list where it can, and otherwise may create another",
                self.hook.provider,
                job.job_id,
                self.store.name,
                error,
            )
        return job

    def _withdraw(self) -> None:
        if self.previous is not None:
            self.store.save(self.previous)
        else:
            self.store.forget()


#: Seconds allowed each side of a window for the vendor's clock (its ``created_at``) against ours.
CLOCK_SKEW_S = 60.0
#: Seconds added to a create request's longest life for backoff between connect tries and a slow proxy.
CREATE_SLACK_S = 30.0
#: How far before a recorded job's record a list is searched for it (a record is written after the create).
CREATE_WINDOW_S = 600.0
#: Seconds between the two reads of a recorded job that answered 404, before it counts as gone.
GONE_CONFIRM_DELAY_S = 5.0
#: The values of ``on_orphaned_intent``.
ORPHAN_POLICIES = ("fail", "create")


def check_orphan_policy(value: str) -> str:
    """``on_orphaned_intent`` as given, or a clear error at DAG parse time."""
    if value not in ORPHAN_POLICIES:
        raise ValueError(f'on_orphaned_intent must be "fail" or "create", not {value!r}')
    return value


def datetime_window(start: float, end: float) -> tuple[datetime, datetime]:
    """``[start, end]`` (epoch seconds) widened by :data:`CLOCK_SKEW_S` each side, as aware UTC datetimes."""
    return (
        datetime.fromtimestamp(start - CLOCK_SKEW_S, UTC),
        datetime.fromtimestamp(end + CLOCK_SKEW_S, UTC),
    )
