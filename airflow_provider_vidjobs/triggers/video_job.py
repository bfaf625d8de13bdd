"""The deferred wait: polls one job in the triggerer until it ends, then fires exactly one event.

The polling itself is :func:`~airflow_provider_vidjobs.polling.poll_until_done` (a poll's path is
described there); this module is its Airflow side: arguments rendered in the triggerer, the event,
the XComs of a task that ends here, and ``on_kill``. The event then goes to the operator's
``execute_complete`` -> XCom.

The event is a JSON-native dict (see :func:`make_event`). The trigger's kwargs hold only ids,
timing and mapping overrides: never a key (the triggerer stores them as plain JSON).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.common.compat.sdk import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

from airflow_provider_vidjobs.exceptions import VideoJobError
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.links import XCOM_KEY as LINK_XCOM_KEY
from airflow_provider_vidjobs.models import VideoJob
from airflow_provider_vidjobs.polling import Outcome, PollPolicy, WaitEnd, poll_until_done
from airflow_provider_vidjobs.retry import NO_RETRY
from airflow_provider_vidjobs.url_secrets import without_url_secrets


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


#: Seconds :meth:`VideoJobTrigger.on_kill` gives the cancel request (inside ``[triggerer] on_kill_timeout``).
CANCEL_TIMEOUT_S = 20.0


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
                    xcoms = {"return_value": event["job"], **({LINK_XCOM_KEY: link} if link else {})}
                    await apush_xcoms(self.task_instance, xcoms)  # no link: no empty "Video job" row
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
                polling = poll_until_done(
                    hook,
                    self.job_id,
                    self.poll_policy,
                    provider=self.provider,
                    log=self.log,
                    deadline=self.deadline,
                    first_poll_delay=self.first_poll_delay,
                )
                ended = await asyncio.create_task(polling, name=f"vidjobs-wait-{self.job_id}")
                return self._ended(ended)
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

    def _ended(self, end: WaitEnd) -> dict[str, Any]:
        return self._event(end.outcome, end.message, job=end.job, error_type=end.error_type)

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
