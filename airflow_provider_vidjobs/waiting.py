"""Waiting for a job from a task: shared by the sensor and the operators that wait, so they behave alike.

A task checks the job once; if it has not ended, it defers to :class:`VideoJobTrigger` and resumes in
``execute_complete``, where :func:`job_from_event` validates the event before anything trusts it.
"""

from __future__ import annotations

import ast
import json
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_vidjobs import exceptions, url_secrets
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.polling import PollPolicy

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook
    from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger


def default_conn_id(provider: str | None, conn_id: str | None) -> str:
    """The connection to use: the one given, or the provider's default connection."""
    if conn_id:
        return conn_id
    if provider:
        return hook_class(provider).default_conn_name
    raise ValueError("Give conn_id (a tensorpix or aihubmix connection) or provider ('tensorpix', 'aihubmix').")


def resolve_provider(conn_id: str, provider: str | None) -> str:
    """The API behind a connection: ``provider`` if given, else the connection's type."""
    if provider:
        if provider not in HOOKS:
            raise ValueError(f"provider={provider!r} is not supported; use one of: {', '.join(sorted(HOOKS))}")
        return provider
    conn_type = BaseHook.get_connection(conn_id).conn_type
    if conn_type not in HOOKS:
        raise ValueError(
            f"Connection {conn_id!r} has type {conn_type!r}, which is not a video API. Create it with "
            f"conn_type one of {', '.join(sorted(HOOKS))}, or pass provider= to the task."
        )
    return str(conn_type)


def make_hook(
    provider: str | None, conn_id: str | None, status_overrides: Mapping[str, str] | None = None
) -> VideoJobHook:
    """The hook for a task's connection (provider from the connection's type when not given)."""
    conn = default_conn_id(provider, conn_id)
    return hook_class(resolve_provider(conn, provider))(conn, status_overrides=status_overrides)


def wants_end_from_trigger(task: Any, wanted: bool) -> bool:
    """``end_from_trigger`` as it can apply: a task with outlets resumes on a worker, which records its
    asset events (the triggerer ending a task records none)."""
    if wanted and task.outlets:
        task.log.warning("%s: end_from_trigger is off because the task has outlets", task.task_id)
        return False
    return wanted


def build_trigger(
    hook: VideoJobHook,
    job_id: str,
    *,
    poll_policy: PollPolicy,
    timeout: float | None,
    status_overrides: Mapping[str, str] | None,
    cancel_on_kill: bool = False,
    end_from_trigger: bool = False,
) -> VideoJobTrigger:
    """The trigger that continues this wait in the triggerer."""
    from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

    return VideoJobTrigger(
        provider=hook.provider,
        conn_id=hook.conn_id,
        job_id=job_id,
        poll_policy=poll_policy.to_dict(),
        deadline=time.time() + timeout if timeout is not None else None,
        status_overrides=dict(status_overrides or {}),
        first_poll_delay=poll_policy.min_interval,
        cancel_on_kill=cancel_on_kill,
        end_from_trigger=end_from_trigger,
    )


def airflow_calls_trigger_on_kill() -> bool:
    """Whether this Airflow's triggerer calls ``BaseTrigger.on_kill`` (3.3.0 and later)."""
    from airflow import __version__ as airflow_version
    from packaging.version import Version

    return Version(airflow_version).release[:2] >= (3, 3)


_warned_on_kill = False


def check_cancel_on_kill(provider: str | None, deferrable: bool) -> None:
    """Refuse ``cancel_on_kill`` for an API that cannot cancel; warn once where Airflow would not call it."""
    global _warned_on_kill
    if provider is not None and not hook_class(provider).can_cancel:
        raise ValueError(
            f"cancel_on_kill=True: the {provider} API documents no way to cancel a job, so a stopped task "
            "cannot stop its job. Remove cancel_on_kill (or cancel the job in the vendor's console)."
        )
    if deferrable and not _warned_on_kill and not airflow_calls_trigger_on_kill():
        _warned_on_kill = True
        warnings.warn(
            "cancel_on_kill=True has no effect on a deferred wait before Airflow 3.3: this Airflow's triggerer "
            "never calls the trigger's on_kill, so a task marked failed or cleared leaves its job running.",
            UserWarning,
            stacklevel=3,
        )


def cancel_quietly(hook: VideoJobHook, job_id: Any, log: Any) -> None:
    """A task's ``on_kill``: ask the API to stop the job, logging (never raising) when it cannot."""
    try:
        hook.cancel_job(str(job_id))
    except (exceptions.VideoJobError, ValueError, NotImplementedError) as error:
        log.warning(
            "%s job %s: the task was stopped but the job could not be cancelled (%s); it may still run and be "
            "billed: cancel it in the vendor's console",
            hook.provider,
            job_id,
            error,
        )
        return
    log.info("%s job %s: cancelled at the API because the task was stopped", hook.provider, job_id)


def job_reference(job: Any, provider: str | None) -> tuple[Any, str | None]:
    """(job id, provider) from a job id or an upstream ``VideoJob`` XCom: a dict, or its rendered text.

    Airflow renders templates as text unless the DAG sets ``render_template_as_native_obj``, so
    ``"{{ ti.xcom_pull('create') }}"`` arrives as the dict's Python repr; both forms are read here.
    """
    if isinstance(job, str) and job.lstrip().startswith("{"):
        try:
            job = json.loads(job)
        except (ValueError, RecursionError):
            try:
                job = ast.literal_eval(job.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise ValueError(f"The job looks like a dict but cannot be read: {job[:100]!r}") from None
    if isinstance(job, Mapping):
        if "job_id" not in job:
            keys = sorted(str(key) for key in job)[:10]
            raise ValueError(f"The job is a dict without a 'job_id' key (keys: {keys}); pass a VideoJob XCom")
        return job["job_id"], provider or job.get("provider")
    return job, provider


def result_of(job: VideoJob) -> dict[str, Any]:
    """The XCom of a finished job, or :class:`JobFailedError` if it did not succeed."""
    if job.status is JobStatus.SUCCEEDED:
        return job.to_xcom()
    raise exceptions.JobFailedError(job)


def _error_class(name: object) -> type[exceptions.VideoJobError]:
    candidate = getattr(exceptions, str(name), None)
    if (
        isinstance(candidate, type)
        and issubclass(candidate, exceptions.VideoJobError)
        and candidate is not exceptions.JobFailedError
    ):
        return candidate
    return exceptions.VideoJobError


#: What a task resumes with when its trigger ended it (``TaskSuccessEvent``) and something resumed it all the
#: same: ``dag.test()`` runs triggers inline and hands the event's payload, the state's name, to the task.
TASK_ENDED_PAYLOAD = "success"


def job_from_event(
    event: Any, *, job_id: str, on_timeout: type[BaseException], reread: Callable[[], VideoJob] | None = None
) -> VideoJob:
    """Validate a trigger event for ``job_id`` and return the finished job, raising what the outcome means.

    ``reread`` fetches the job when the event carries none whole: a task-end event's payload, or an
    event whose job's signed URLs were masked for the triggerer's log (``url_secrets.without_url_secrets``).
    """
    from airflow_provider_vidjobs.polling import OUTCOMES

    if event == TASK_ENDED_PAYLOAD and reread is not None:
        return reread()
    if not isinstance(event, Mapping) or event.get("outcome") not in OUTCOMES:
        raise exceptions.VideoJobError(
            f"the trigger returned an unexpected event {event!r:.300}",
            job_id=job_id,
            hint="Upgrade airflow-provider-vidjobs to the same version on the workers and the triggerer",
        )
    if event.get("job_id") != job_id:
        raise exceptions.VideoJobError(
            f"the trigger's event is for job {event.get('job_id')!r}, not this task's job",
            job_id=job_id,
            hint="Clear the task to wait again",
        )
    outcome, message = event["outcome"], str(event.get("message") or "")
    job = VideoJob.from_xcom(event["job"]) if event.get("job") else None
    if outcome == "error":
        raise _error_class(event.get("error_type"))(message, job_id=None)
    if outcome == "timeout":
        raise on_timeout(message)
    if job is None:
        _missing_job(outcome, job_id)
    if event.get(url_secrets.REREAD_KEY) and job.status is JobStatus.SUCCEEDED and reread is not None:
        return _reread_for_urls(job, reread)
    return job


def _reread_for_urls(job: VideoJob, reread: Callable[[], VideoJob]) -> VideoJob:
    """The job read again for working URLs (the event's lost their signatures); the event's job if that
    read fails or no longer says succeeded: the wait did end, and a download fetches a fresh URL anyway."""
    try:
        fresh = reread()
    except exceptions.VideoJobError as error:
        _log.warning("%s; keeping the job as the trigger saw it (its URLs without their signature)", error)
        return job
    if fresh.status is not JobStatus.SUCCEEDED:
        _log.warning(
            "%s job %s read %s after the trigger saw it succeed; keeping what the trigger saw",
            job.provider,
            job.job_id,
            fresh.status.value,
        )
        return job
    return fresh


def _missing_job(outcome: str, job_id: str) -> NoReturn:
    raise exceptions.VideoJobError(f"the trigger reported {outcome!r} without the job's data", job_id=job_id)
