"""Where a create task remembers the job it paid for, so a retry or a clear re-attaches instead of re-creating.

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
from dataclasses import asdict, dataclass, is_dataclass
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_vidjobs.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    JobNotFoundError,
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
    """Decides, for one try, whether an earlier try's job can be reused, and records a new one at once."""

    def __init__(self, store: ReattachStore, fingerprint: str, hook: VideoJobHook, log: Any) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.hook = hook
        self.log = log
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
        if record.job_id is None:
            self.log.warning(
                "an earlier try of this task stopped between sending its create request and recording the job's "
                "id; if the API accepted that request, its job runs unseen by this task (look for it in the "
                "vendor's console). Creating a new job",
            )
            return None
        try:
            job = self.hook.get_job(record.job_id)
        except JobNotFoundError:
            self.log.warning(
                "%s job %s, created by an earlier try, is gone at the API (404): creating a new job",
                provider,
                record.job_id,
            )
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

    def create(self, post: Callable[[], VideoJob]) -> VideoJob:
        """Record the intent, POST, and record the job id right after the API accepted it (the window)."""
        self.store.save(new_record(self.fingerprint, self.hook.provider, None))
        try:
            job = post()
        except (InvalidRequestError, AuthenticationError, ValueError):
            # Refused before any job existed (400, 401/403, an invalid argument): no job can be unseen.
            if self.previous is not None:
                self.store.save(self.previous)
            else:
                self.store.forget()
            raise
        try:
            self.store.save(new_record(self.fingerprint, self.hook.provider, job.job_id))
        except Exception as error:  # the job exists and is paid for: wait on it rather than fail the try
            self.log.error(
                "%s job %s was created but could not be recorded in the %s (%s): if this try fails, a retry "
                "cannot re-attach and will create another job",
                self.hook.provider,
                job.job_id,
                self.store.name,
                error,
            )
        return job
