"""The deferred wait: polls one job in the triggerer until it ends, then fires exactly one event.

Path of one poll: :class:`VideoJobTrigger` -> hook (shared pooled client) -> wire model ->
:class:`VideoJob` -> event -> the operator's ``execute_complete`` -> XCom.

The event is a JSON-native dict (see :func:`make_event`). The trigger's kwargs hold only ids,
timing and mapping overrides: never a key (the triggerer stores them as plain JSON).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.common.compat.sdk import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

from airflow_provider_vidjobs.exceptions import TransientAPIError, UnreadableResponseError, VideoJobError
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.links import XCOM_KEY as LINK_XCOM_KEY
from airflow_provider_vidjobs.models import JobStatus, VideoJob
from airflow_provider_vidjobs.polling import PollPlanner, PollPolicy
from airflow_provider_vidjobs.retry import NO_RETRY
from airflow_provider_vidjobs.url_secrets import without_url_secrets

Outcome = Literal["succeeded", "failed", "cancelled", "timeout", "error"]
OUTCOMES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "timeout", "error"})
_OUTCOME_OF = {JobStatus.SUCCEEDED: "succeeded", JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled"}


def make_event(
    outcome: Outcome,
    *,
    provider: str,
    job_id: str,
    message: str,
    job: VideoJob | None = None,
    error_type: str | None = None,
) -> dict[str, Any]:
    """The one event shape every wait ends with (validated again by ``execute_complete``)."""
    return {
        "outcome": outcome,
        "provider": provider,
        "job_id": job_id,
        "job": job.to_xcom() if job is not None else None,
        "message": message,
        "error_type": error_type,
    }


def describe_progress(job: VideoJob, eta: float | None) -> str:
    """``job <id>: running 45%, about 30 s left``: the line users see in the task log."""
    text = f"{job.provider} job {job.job_id}: {job.status.value}"
    if job.progress is not None:
        text += f" {job.progress:.0f}%"
    if job.vendor_status and job.vendor_status.lower() != job.status.value:
        text += f" (API status {job.vendor_status!r})"
    if eta is not None and not job.is_terminal:
        text += f", about {eta:.0f} s left"
    return text


#: Seconds :meth:`VideoJobTrigger.on_kill` gives the cancel request (inside ``[triggerer] on_kill_timeout``).
CANCEL_TIMEOUT_S = 20.0

#: Seconds at least between two progress lines of one wait while its status stays the same.
PROGRESS_LOG_INTERVAL_S = 30.0


def _progress_step(job: VideoJob) -> int:
    """Which tenth of the way the job is (-1: no progress): a progress line is logged when this changes.

    A line per status change, and per 10% step at most every :data:`PROGRESS_LOG_INTERVAL_S`, keeps a
    triggerer with thousands of waits from rendering (and shipping) a line on most polls, while the task
    log still shows the job moving.
    """
    return -1 if job.progress is None else int(job.progress // 10)


#: Seconds: wake-ups are rounded up to this grid, so waits due at nearly the same moment share one turn
#: of the event loop (one ``epoll`` wake-up for many polls, and their answers arriving together).
WAKE_GRID_S = 0.02


async def _sleep_on_grid(delay: float) -> None:
    """``asyncio.sleep(delay)``, ending on the next :data:`WAKE_GRID_S` boundary (at most that much later)."""
    loop = asyncio.get_running_loop()
    due = math.ceil((loop.time() + delay) / WAKE_GRID_S) * WAKE_GRID_S
    await asyncio.sleep(due - loop.time())


class VideoJobTrigger(BaseTrigger):
    """Waits for one video job to end, polling through the API's hook.

    :param provider: connection type of the API (``tensorpix``, ``aihubmix``).
    :param conn_id: Airflow connection holding the base URL and key (looked up in the triggerer).
    :param job_id: the job to wait for.
    :param poll_policy: :class:`PollPolicy` as a dict; defaults documented there.
    :param deadline: Unix time after which the wait ends with outcome ``timeout``.
    :param status_overrides: vendor status -> ``JobStatus`` value, on top of the built-in mapping.
    :param first_poll_delay: seconds before the first poll (the operator just checked the job).
    :param cancel_on_kill: in :meth:`on_kill` (a user marked the task failed/success or cleared it; Airflow
        3.3+ only), ask the API to stop the job. Never on a triggerer restart: :meth:`cleanup` cancels nothing.
    :param end_from_trigger: a succeeded job ends the task here (its XComs stored by the triggerer), so no
        worker resumes for it; every other outcome still resumes the task on a worker (see :func:`end_event`).
    :param timeout: seconds the wait may take, counted from the task's start, when there is no
        ``deadline`` yet: a task started in the triggerer (``start_from_trigger``) has had no worker to
        compute one.

    Started in the triggerer, ``job_id``, ``conn_id``, ``provider`` and ``status_overrides`` arrive as the
    task's templates rendered by Airflow: the id may be an upstream ``VideoJob`` dict (or its text), and an
    empty ``provider`` means "the connection's type", looked up here with the async API.
    """

    def __init__(
        self,
        *,
        provider: str,
        conn_id: str,
        job_id: str,
        poll_policy: Mapping[str, Any] | None = None,
        deadline: float | None = None,
        status_overrides: Mapping[str, str] | None = None,
        first_poll_delay: float = 0.0,
        cancel_on_kill: bool = False,
        end_from_trigger: bool = False,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.conn_id = conn_id
        self.job_id = job_id
        self.poll_policy = PollPolicy.from_dict(poll_policy)
        self.deadline = deadline
        self.status_overrides = dict(status_overrides or {})
        self.first_poll_delay = first_poll_delay
        self.cancel_on_kill = cancel_on_kill
        self.end_from_trigger = end_from_trigger
        self.timeout = timeout
        self._web_url = ""  # the task's "Video job" link, pushed with the XCom when the task ends here

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "provider": self.provider,
                "conn_id": self.conn_id,
                "job_id": self.job_id,
                "poll_policy": self.poll_policy.to_dict(),
                "deadline": self.deadline,
                "status_overrides": self.status_overrides,
                "first_poll_delay": self.first_poll_delay,
                "cancel_on_kill": self.cancel_on_kill,
                "end_from_trigger": self.end_from_trigger,
                "timeout": self.timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self.wait()
        if not self.end_from_trigger:
            yield TriggerEvent(without_url_secrets(event))
            return
        ending = end_event(event)
        if isinstance(ending, TaskSuccessEvent):
            try:
                if self.task_instance is not None:  # None under dag.test(), which resumes the task anyway
                    link = (event.get("job") or {}).get("web_url") or self._web_url  # the API's page first
                    await apush_xcoms(self.task_instance, {"return_value": event["job"], LINK_XCOM_KEY: link})
            except Exception as error:  # the XCom is the task's result: without it, let a worker finish the task
                self.log.warning("could not store the XCom from the triggerer (%s); a worker resumes the task", error)
                ending = TriggerEvent(without_url_secrets(event))
            else:
                self.log.info("%s; the task ends here, in the triggerer (no worker resumes it)", event["message"])
        yield ending

    async def on_kill(self) -> None:
        """A user ended the deferred task (Airflow 3.3+ calls this only then): stop the job if asked to."""
        if not self.cancel_on_kill:
            return
        try:
            # Inside the try: a wait started in the triggerer and killed before it resolved its provider.
            hook = hook_class(self.provider)(
                self.conn_id, status_overrides=self.status_overrides, retry_policy=NO_RETRY
            )
            await asyncio.wait_for(hook.acancel_job(self.job_id), timeout=CANCEL_TIMEOUT_S)
        except (VideoJobError, ValueError, NotImplementedError, TimeoutError) as error:
            self.log.warning(
                "%s job %s: the task was stopped by a user but the job could not be cancelled (%s); "
                "it may still run and be billed: cancel it in the vendor's console",
                self.provider,
                self.job_id,
                error or type(error).__name__,
            )
            return
        self.log.info("%s job %s: cancelled at the API because a user stopped the task", self.provider, self.job_id)

    async def wait(self) -> dict[str, Any]:
        """Poll until the job ends, the deadline passes or a permanent error occurs; return the event."""
        try:
            await self._resolve_rendered_arguments()
            hook = hook_class(self.provider)(
                self.conn_id, status_overrides=self.status_overrides, retry_policy=NO_RETRY
            )
            self.job_id = hook.validate_job_id(self.job_id)
            async with hook.async_session():  # looks the connection up (sharing one lookup, masking async)
                if self.end_from_trigger:
                    self._web_url = hook.job_web_url(self.job_id) or ""
                # The triggerer gives its task a greenback portal (so that sync Airflow calls work on the
                # loop), which puts a greenlet switch on every resume of that task: twice a poll.
                # The polling itself makes no sync Airflow call, so it runs in a plain task of its own;
                # cancelling this task cancels that one, and its errors are raised here.
                return await asyncio.create_task(self._poll_until_done(hook), name=f"vidjobs-wait-{self.job_id}")
        except asyncio.CancelledError:
            # Task cleared, triggerer stopping, or trigger moved: the session above closed the client.
            self.log.debug("wait for %s job %s cancelled", self.provider, self.job_id)
            raise
        except AirflowNotFoundException as error:
            message = (
                f"{self.provider} job {self.job_id}: connection {self.conn_id!r} was not found by the triggerer "
                f"({error}). Define it in the metadata DB or in the triggerer's own environment (AIRFLOW_CONN_*)."
            )
            self.log.error("%s", message)
            return self._event("error", message, error_type="ConnectionNotFound")
        except (VideoJobError, ValueError) as error:
            self.log.error("%s", error)
            return self._event("error", str(error), error_type=type(error).__name__)

    async def _resolve_rendered_arguments(self) -> None:
        """Make a wait started in the triggerer look like one deferred by a worker (no-op for the latter)."""
        from airflow_provider_vidjobs.waiting import job_reference

        job_id, provider = job_reference(self.job_id, self.provider or None)
        self.job_id = str(job_id)
        if not provider:
            conn_type = (await get_async_connection(self.conn_id)).conn_type
            if conn_type not in HOOKS:
                raise ValueError(
                    f"Connection {self.conn_id!r} has type {conn_type!r}, which is not a video API. Create it "
                    f"with conn_type one of {', '.join(sorted(HOOKS))}, or pass provider= to the task."
                )
            provider = conn_type
        self.provider = str(provider)
        if self.deadline is None and self.timeout is not None:
            started = getattr(self.task_instance, "start_date", None)
            self.deadline = (started.timestamp() if started is not None else time.time()) + self.timeout

    async def _poll_until_done(self, hook: Any) -> dict[str, Any]:
        planner = PollPlanner(self.poll_policy)
        last_logged: tuple[JobStatus, int] | None = None
        logged_at = 0.0
        job: VideoJob | None = None
        delay = planner.first_delay(self.first_poll_delay)
        while True:
            if self.deadline is not None:
                delay = min(delay, max(0.0, self.deadline - time.time()))
            if delay > 0:
                await _sleep_on_grid(delay)
            try:
                poll = await hook.apoll_job(self.job_id)
            except (TransientAPIError, UnreadableResponseError) as error:
                # An unreadable 200 (cut short, a proxy's HTML page) is a blip too: a long wait sits it out.
                now = time.time()
                if planner.failures == 0:
                    self.log.warning(
                        "%s; will keep trying for up to %.0f s of consecutive failures",
                        error,
                        self.poll_policy.failure_budget,
                    )
                retry_in = planner.failure(now, error.retry_after if isinstance(error, TransientAPIError) else None)
                if self._past_deadline(now):
                    return self._timeout(job)
                if retry_in is None:
                    message = (
                        f"{self.provider} job {self.job_id}: gave up after {planner.failures} failed polls over "
                        f"{self.poll_policy.failure_budget:.0f} s; last error: {error}"
                    )
                    return self._event("error", message, job=job, error_type=type(error).__name__)
                delay = retry_in
                continue
            if planner.failures:
                self.log.info(
                    "%s job %s: API answering again after %d failed polls", self.provider, self.job_id, planner.failures
                )
            job = poll.job
            now = time.time()
            planner.observe(job, now)
            seen = (job.status, _progress_step(job))
            if seen != last_logged and (
                last_logged is None or seen[0] != last_logged[0] or now - logged_at >= PROGRESS_LOG_INTERVAL_S
            ):
                last_logged, logged_at = seen, now
                self.log.info("%s", describe_progress(job, planner.eta()))
            if job.is_terminal:
                outcome = _OUTCOME_OF[job.status]
                return self._event(outcome, job.summary(), job=job)  # type: ignore[arg-type]
            if self._past_deadline(time.time()):
                return self._timeout(job)
            delay = planner.next_delay(poll.poll_after)

    def _past_deadline(self, when: float) -> bool:
        return self.deadline is not None and when >= self.deadline

    def _timeout(self, job: VideoJob | None) -> dict[str, Any]:
        state = f"; last seen {job.status.value}" if job is not None else ""
        message = f"{self.provider} job {self.job_id}: not finished by the task's deadline{state}"
        self.log.info("%s", message)
        return self._event("timeout", message, job=job)

    def _event(
        self, outcome: Outcome, message: str, *, job: VideoJob | None = None, error_type: str | None = None
    ) -> dict[str, Any]:
        return make_event(
            outcome, provider=self.provider, job_id=self.job_id, message=message, job=job, error_type=error_type
        )


def end_event(event: dict[str, Any]) -> TriggerEvent:
    """The event that ends a wait with ``end_from_trigger``: the task ends here only when the job succeeded.

    A succeeded job ends the task without a worker (its XComs stored first by :func:`apush_xcoms`). Any
    other outcome (failed job, timeout, error) resumes the task on a worker as without the option, so the
    failure carries ``JobFailedError`` with the vendor's code and message, retries and ``soft_fail`` behave
    as always (Airflow < 3.3 fails a ``TaskFailedEvent`` without retrying), and failure callbacks get the
    exception. Those outcomes are rare; the worker start they cost is the price.
    """
    job = event.get("job") or {}
    if event.get("outcome") == "succeeded" and job.get("job_id") == event.get("job_id"):
        return TaskSuccessEvent()
    return TriggerEvent(without_url_secrets(event))


async def apush_xcoms(ti: Any, values: Mapping[str, Any]) -> None:
    """Store ``ti``'s XComs from the triggerer as a worker stores them (serde, through the execution API).

    Not ``TaskSuccessEvent(xcoms=...)``: Airflow (3.1.8, 3.3.2) stores those JSON-encoded once more, so a
    downstream task would read the dict's text instead of the dict.
    """
    from airflow.providers.common.compat.sdk import XCom

    where = {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "map_index": -1 if ti.map_index is None else ti.map_index,
    }
    aset = getattr(XCom, "aset", None)  # Airflow 3.3+
    for key, value in values.items():
        if aset is not None:
            await aset(key, value, **where)
        else:  # the sync form talks to the supervisor with a blocking call: off the event loop
            from asgiref.sync import sync_to_async

            await sync_to_async(XCom.set)(key, value, **where)
