"""Wait for a video job to finish and push its normalized metadata (XCom ``return_value``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_vidjobs.exceptions import JobFailedError, TransientAPIError, VideoJobError
from airflow_provider_vidjobs.lineage import VideoJobLineageMixin
from airflow_provider_vidjobs.links import JobLinks, push_job_link
from airflow_provider_vidjobs.models import JobStatus
from airflow_provider_vidjobs.polling import PollPolicy
from airflow_provider_vidjobs.version_compat import AIRFLOW_V_3_3_PLUS, warn_once
from airflow_provider_vidjobs.waiting import (
    build_trigger,
    cancel_quietly,
    check_cancel_on_kill,
    default_conn_id,
    job_from_event,
    job_reference,
    make_hook,
    result_of,
    wants_end_from_trigger,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_vidjobs.hooks.base import VideoJobHook


def _not_renderable_in_triggerer(job_id: object) -> str | None:
    """Why Airflow's triggerer cannot render this ``job_id`` (None: it can).

    The triggerer renders only templates kept as text in the serialized task (an ``XComArg`` such as
    ``create.output`` is not), and Airflow 3.3's triggerer never answers ``xcom_pull()`` without
    ``map_indexes`` (it cannot decode the request it sends, ``GetXComSequenceSlice``): the trigger would
    hang, so such a sensor starts on a worker instead.
    """
    if not isinstance(job_id, str):
        return (
            f"a job_id of type {type(job_id).__name__} (e.g. an upstream task's .output) is not rendered by the "
            "triggerer: pass a template such as \"{{ ti.xcom_pull(task_ids='create', map_indexes=-1) }}\""
        )
    if "xcom_pull(" in job_id and "map_indexes" not in job_id:
        return (
            "Airflow's triggerer cannot answer xcom_pull() without map_indexes: add map_indexes=-1, as in "
            "\"{{ ti.xcom_pull(task_ids='create', map_indexes=-1) }}\""
        )
    return None


#: What Airflow imports in the triggerer to start a sensor there (a string: parsing a DAG imports no trigger).
TRIGGER_CLASSPATH = "airflow_provider_vidjobs.triggers.video_job.VideoJobTrigger"


class VideoJobSensor(VideoJobLineageMixin, BaseSensorOperator):
    """Waits until a TensorPix or AIHubMix job ends; returns its :class:`VideoJob` as a JSON dict.

    :param job_id: the job's id (templated; an upstream ``VideoJob`` XCom dict works too).
    :param conn_id: a ``tensorpix`` or ``aihubmix`` connection; the API is taken from its type.
    :param provider: the API, when ``conn_id`` is not given or is not of a video type.
    :param poll_interval: seconds between checks (the shortest interval when adaptive polling is on).
    :param max_poll_interval: longest wait between checks of a deferred wait.
    :param adaptive_polling: in deferrable mode, estimate time left from progress and poll less.
    :param failure_budget: seconds of consecutive API failures (429, 5xx, timeouts) a deferred wait sits out.
    :param status_overrides: vendor status -> ``queued``/``running``/``succeeded``/``failed``/``cancelled``.
    :param deferrable: wait in the triggerer, freeing the worker slot (default from
        ``[operators] default_deferrable``).
    :param cancel_on_kill: when a user marks the task failed/success or clears it, ask the API to stop the job
        (deferred: Airflow 3.3+ only; poke mode: the task's ``on_kill``). Off by default; refused for APIs
        that document no cancel (TensorPix).
    :param end_from_trigger: with ``deferrable``, a job that succeeds ends the task in the triggerer, which
        pushes the XCom: no worker resumes the task. Other outcomes resume it on a worker as usual.
    :param start_from_trigger: on Airflow >= 3.3, the task starts in the triggerer (no worker at all with
        ``end_from_trigger``); implies ``deferrable``. Older Airflow starts it on a worker, with one warning.

    A job that fails raises :class:`JobFailedError` with the vendor's code and message; a wait longer than
    ``timeout`` raises ``AirflowSensorTimeout`` (or skips the task with ``soft_fail=True``).
    """

    template_fields: Sequence[str] = ("job_id", "conn_id", "provider", "status_overrides")
    ui_color = "#e8dcf7"
    operator_extra_links = JobLinks()  # the "Video job" link, stored only when there is one

    def __init__(
        self,
        *,
        job_id: str,
        conn_id: str | None = None,
        provider: str | None = None,
        poll_interval: float = 10.0,
        max_poll_interval: float = 60.0,
        adaptive_polling: bool = True,
        failure_budget: float = 600.0,
        status_overrides: Mapping[str, str] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_kill: bool = False,
        end_from_trigger: bool = False,
        start_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.job_id = job_id
        self.conn_id = conn_id
        self.provider = provider
        self.poll_policy = PollPolicy(
            min_interval=poll_interval,
            max_interval=max(max_poll_interval, poll_interval),
            adaptive=adaptive_polling,
            failure_budget=failure_budget,
        )
        self.status_overrides = dict(status_overrides or {})
        self.deferrable = deferrable or start_from_trigger
        self.end_from_trigger = wants_end_from_trigger(self, end_from_trigger)
        self.cancel_on_kill = cancel_on_kill
        if cancel_on_kill:
            known = provider if provider and "{" not in provider else None
            check_cancel_on_kill(known, self.deferrable)
        self._hook: VideoJobHook | None = None
        if start_from_trigger:
            self._start_in_triggerer()

    def _start_in_triggerer(self) -> None:
        """Hand Airflow the trigger to start this task with (3.3+), or warn once and start on a worker."""
        if not self.provider and not self.conn_id:
            raise ValueError("VideoJobSensor(start_from_trigger=True) needs conn_id or provider.")
        if not AIRFLOW_V_3_3_PLUS:
            warn_once(
                "start_from_trigger",
                "VideoJobSensor(start_from_trigger=True) needs Airflow >= 3.3 (Airflow 3.0-3.2 ignore "
                "start_trigger_args); these sensors start on a worker and defer from there.",
            )
            return
        if reason := _not_renderable_in_triggerer(self.job_id):
            warn_once(
                f"start_from_trigger:{reason}",
                f"VideoJobSensor(start_from_trigger=True): {reason}; this sensor starts on a worker and defers.",
            )
            return
        from airflow.triggers.base import StartTriggerArgs

        self.start_from_trigger = True
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=TRIGGER_CLASSPATH,
            trigger_kwargs={
                "provider": self.provider or "",  # "": the connection's type, read in the triggerer
                "conn_id": default_conn_id(self.provider, self.conn_id),
                "job_id": self.job_id,  # a template is rendered by the triggerer
                "poll_policy": self.poll_policy.to_dict(),
                "status_overrides": self.status_overrides,
                "end_from_trigger": self.end_from_trigger,
                "cancel_on_kill": self.cancel_on_kill,
                "timeout": float(self.timeout) if self.timeout is not None else None,
            },
            next_method="execute_complete",
        )

    @property
    def hook(self) -> VideoJobHook:
        if self._hook is None:
            self._hook = make_hook(self.provider, self.conn_id, self.status_overrides)
        return self._hook

    @property
    def _job_id(self) -> Any:
        """``job_id`` as rendered: an id, or an upstream VideoJob XCom (a dict, or its text) holding one."""
        return job_reference(self.job_id, None)[0]

    def execute(self, context: Context) -> Any:
        if self.cancel_on_kill:
            check_cancel_on_kill(self.hook.provider, deferrable=False)  # the API behind a conn_id is known now
        push_job_link(context, self.hook, self._job_id)
        if not self.deferrable:
            return super().execute(context)
        # Check once first: a job that already ended never defers (and dodges a fast-trigger race).
        job_id = self.hook.validate_job_id(self._job_id)
        try:
            job = self.hook.get_job(job_id)
        except TransientAPIError as error:
            # The deferred wait sits out outages within its failure budget; so does its first check.
            self.log.warning("%s; deferring, the triggerer will keep trying", error)
        else:
            push_job_link(context, self.hook, job_id, job)  # the API's own page beats the template
            self.log.info("%s", job.summary())
            if job.is_terminal:
                return result_of(job)
        self.defer(
            trigger=build_trigger(
                self.hook,
                job_id,
                poll_policy=self.poll_policy,
                timeout=float(self.timeout) if self.timeout is not None else None,
                status_overrides=self.status_overrides,
                cancel_on_kill=self.cancel_on_kill,
                end_from_trigger=self.end_from_trigger,
            ),
            method_name="execute_complete",
        )

    def on_kill(self) -> None:
        """Poke mode, task stopped (a user's mark failed/clear, or a timeout): stop the job if asked to."""
        if self.cancel_on_kill:
            cancel_quietly(self.hook, self._job_id, self.log)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """As Airflow's sensors resume, except that ``soft_fail`` never hides a failed job or a rejected key.

        Airflow skips a resumed sensor on ANY error when ``soft_fail`` is set; poke mode fails on
        those. Both modes skip only on a timeout.
        """
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSkipException as skip:
            if isinstance(skip.__cause__, VideoJobError):
                raise skip.__cause__ from None
            raise

    def poke(self, context: Context) -> PokeReturnValue:
        try:
            job = self.hook.get_job(self._job_id)
        except TransientAPIError as error:
            self.log.warning("%s; will check again in %s s", error, self.poke_interval)
            return PokeReturnValue(is_done=False)
        self.log.info("%s", job.summary())
        push_job_link(context, self.hook, self._job_id, job)  # the API's own page beats the template
        if job.status is JobStatus.SUCCEEDED:
            return PokeReturnValue(is_done=True, xcom_value=job.to_xcom())
        if job.is_terminal:
            raise JobFailedError(job)
        return PokeReturnValue(is_done=False)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: validate the event, then return the job or raise."""
        job_id = self.hook.validate_job_id(self._job_id)
        push_job_link(context, self.hook, job_id)  # a timeout or bad event still ends with the template's link
        try:
            job = job_from_event(
                event, job_id=job_id, on_timeout=AirflowSensorTimeout, reread=lambda: self.hook.get_job(job_id)
            )
        except AirflowSensorTimeout:
            if self.soft_fail:
                raise AirflowSkipException(f"{self.hook.provider} job {job_id} did not finish in time") from None
            raise
        push_job_link(context, self.hook, job_id, job)  # the API's own page beats the connection's template
        self.log.info("%s", job.summary())
        return result_of(job)


__all__ = ["JobFailedError", "VideoJobSensor"]
