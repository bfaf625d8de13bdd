"""Create a video with any API whose hook can create, re-attach on retry, and optionally wait for it.

One operator for every API: the request is validated against the API's own model (the hook's
``request_model``), created through ``hook.create_job`` behind :class:`~airflow_provider_vidjobs.reattach.Reattacher`,
and waited on like the sensor (deferrable or not). The operator names no vendor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowTaskTimeout, BaseOperator, conf
from pydantic import BaseModel, ValidationError

from airflow_provider_vidjobs import reattach
from airflow_provider_vidjobs.exceptions import VideoJobError
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.hooks.requests import as_params
from airflow_provider_vidjobs.lineage import VideoJobLineageMixin
from airflow_provider_vidjobs.links import JobLinks, push_job_link
from airflow_provider_vidjobs.polling import PollPolicy
from airflow_provider_vidjobs.reattach import Reattacher, check_orphan_policy, request_fingerprint
from airflow_provider_vidjobs.waiting import (
    build_trigger,
    cancel_quietly,
    check_cancel_on_kill,
    default_conn_id,
    job_from_event,
    make_hook,
    result_of,
    wants_end_from_trigger,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_vidjobs.hooks.base import VideoJobHook

#: XCom key of the new video's id, pushed as soon as the API accepted the job.
JOB_ID_XCOM_KEY = "job_id"
#: Seconds Airflow's own trigger timeout (``defer(timeout=...)``) allows past the trigger's deadline: the
#: trigger reports the deadline itself (so the worker can cancel and say so); Airflow's is the backstop.
DEFER_TIMEOUT_GRACE_S = 120.0


class GenerateVideoOperator(VideoJobLineageMixin, BaseOperator):
    """Starts a video job with any API that can create, pushes its id, and optionally waits for it.

    :param conn_id: the API's connection; the API is its connection type unless ``provider`` says.
    :param provider: the API (``aihubmix``, ``replicate``); known at parse time, the request is checked there.
    :param request: the API's create request (templated): its model (``AIHubMixVideoRequest``,
        ``ReplicatePredictionRequest``) or a plain dict, validated against that model at parse time when the API
        is known then (``provider``), and always when the task runs, after rendering.
    :param wait_for_completion: wait for the video and return the final job (deferrable or not).
    :param deferrable: wait in the triggerer (default from ``[operators] default_deferrable``).
    :param end_from_trigger: with ``wait_for_completion`` and ``deferrable``, a video that succeeds ends the
        task in the triggerer, which stores the XCom: no worker resumes the task (other outcomes still do).
    :param reattach: on a retry or after a clear, wait on the job an earlier try created for the same request
        instead of creating (and paying for) another; see README "Re-attach and cancel on kill".
    :param on_orphaned_intent: when an earlier try sent its create and died before reading the answer, its job
        is looked for in the API's list; where there is none, ``"fail"`` (default) fails the task naming the
        window to check in the vendor's console, ``"create"`` creates another (maybe paying twice).
    :param cancel_on_kill: when a user marks the waiting task failed/success or clears it, ask the API to stop
        the job (a deferred wait needs Airflow 3.3+). Refused for an API that documents no cancel.
    :param cancel_on_timeout: when the wait's ``timeout`` or the task's ``execution_timeout`` passes, ask the API
        to stop the job; the failure says whether it was cancelled or is still running (and maybe billed).
    :param timeout: with ``wait_for_completion``, seconds to wait before failing. The task's
        ``execution_timeout`` (counted from the try's start) also holds while the wait is deferred.

    Returns the job as a JSON dict (the final one when waiting). The id is also pushed at once under XCom key
    ``job_id`` (for downstream tasks; a new try clears it, so re-attaching does not rely on it).
    """

    template_fields: Sequence[str] = ("request", "conn_id", "provider")
    template_fields_renderers = {"request": "json"}
    operator_extra_links = JobLinks()  # the "Video job" link, stored only when there is one
    ui_color = "#dcecf7"

    def __init__(
        self,
        *,
        request: Mapping[str, Any] | BaseModel | str | None = None,
        conn_id: str | None = None,
        provider: str | None = None,
        wait_for_completion: bool = False,
        poll_interval: float = 15.0,
        max_poll_interval: float = 60.0,
        failure_budget: float = 600.0,
        timeout: float | None = 60 * 60,
        status_overrides: Mapping[str, str] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        reattach: bool = True,
        on_orphaned_intent: str = "fail",
        cancel_on_kill: bool = False,
        cancel_on_timeout: bool = False,
        end_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Kept as given (a template, an XComArg, a model's fields) until execute() renders and validates it.
        self.request = request.model_dump(exclude_unset=True) if isinstance(request, BaseModel) else request
        self.provider = provider
        self.conn_id = default_conn_id(provider, conn_id) if not _templated(provider) else conn_id
        self.wait_for_completion = wait_for_completion
        self.poll_policy = PollPolicy(
            min_interval=poll_interval,
            max_interval=max(poll_interval, max_poll_interval),
            failure_budget=failure_budget,
        )
        self.wait_timeout = timeout
        self.status_overrides = dict(status_overrides or {})
        self.deferrable = deferrable
        self.reattach = reattach
        self.on_orphaned_intent = check_orphan_policy(on_orphaned_intent)
        self.cancel_on_kill = cancel_on_kill
        self.cancel_on_timeout = cancel_on_timeout
        self.end_from_trigger = wants_end_from_trigger(self, end_from_trigger)
        known = provider if provider and not _templated(provider) else None
        if known is not None:  # the API is known now: refuse what it cannot do before any run
            create_request(known, self.request, at_parse=True)
        if cancel_on_kill:
            check_cancel_on_kill(known, deferrable and wait_for_completion)
        if cancel_on_timeout and known is not None:
            check_cancel_on_timeout(known)
        #: The job this try created or re-attached to (for :meth:`on_kill`).
        self.current_job_id: str | None = None

    def request_fields(self) -> Any:
        """The request as rendered for this run (a subclass may build it from template fields of its own)."""
        return self.request

    def hook(self) -> VideoJobHook:
        return make_hook(self.provider, self.conn_id, self.status_overrides)

    def execute(self, context: Context) -> dict[str, Any] | None:
        hook = self.hook()  # a conn_id's API is known from here on: refuse what it cannot do, before any request
        request = create_request(hook.provider, self.request_fields())
        if self.cancel_on_kill:
            check_cancel_on_kill(hook.provider, deferrable=False)
        if self.cancel_on_timeout:
            check_cancel_on_timeout(hook.provider)
        job = None
        memory = None
        if self.reattach:
            memory = Reattacher(
                reattach.store_for(context),
                request_fingerprint(hook, request),
                hook,
                self.log,
                request=request,
                on_orphaned_intent=self.on_orphaned_intent,
            )
            job = memory.reusable_job()
        if job is None:
            job = memory.create(lambda: hook.create_job(request)) if memory else hook.create_job(request)
            self.log.info("created %s", job.summary())
        self.current_job_id = job.job_id
        context["ti"].xcom_push(key=JOB_ID_XCOM_KEY, value=job.job_id)
        push_job_link(context, hook, job.job_id, job)
        if not self.wait_for_completion:
            return job.to_xcom()
        if job.is_terminal:
            return result_of(job)
        # On a worker, execution_timeout's own alarm ends the wait (caught in _wait_here, which cancels if asked).
        wait_for = self._time_left(context) if self.deferrable else self.wait_timeout
        if self.deferrable:
            self.defer(
                trigger=build_trigger(
                    hook,
                    job.job_id,
                    poll_policy=self.poll_policy,
                    timeout=wait_for,
                    status_overrides=self.status_overrides,
                    cancel_on_kill=self.cancel_on_kill,
                    end_from_trigger=self.end_from_trigger,
                ),
                method_name="execute_complete",
                # The backstop if no triggerer reports the deadline (the task then fails without a cancel).
                timeout=timedelta(seconds=wait_for + DEFER_TIMEOUT_GRACE_S) if wait_for is not None else None,
            )
        return self._wait_here(hook, job.job_id, wait_for)

    def _time_left(self, context: Context) -> float | None:
        """Seconds a deferred wait may take: ``timeout``, cut to what the try's ``execution_timeout`` leaves.

        Airflow (3.3.2) applies ``execution_timeout`` to each run on a worker, not to a deferred wait: the
        deadline travels with the trigger instead, so the wait ends (and cancels, if asked) in time.
        """
        limits = [] if self.wait_timeout is None else [float(self.wait_timeout)]
        started = getattr(context.get("ti"), "start_date", None)
        if self.execution_timeout is not None:
            begun = started.timestamp() if started is not None else time.time()
            limits.append(max(0.0, begun + self.execution_timeout.total_seconds() - time.time()))
        return min(limits) if limits else None

    def on_kill(self) -> None:
        """The task process is stopped while it waits here (non-deferrable): stop the job if asked to."""
        if self.cancel_on_kill and self.current_job_id:
            cancel_quietly(self.hook(), self.current_job_id, self.log)

    def _wait_here(self, hook: VideoJobHook, job_id: str, wait_for: float | None) -> dict[str, Any]:
        """Poll from the worker (non-deferrable), with the same policy and outcomes as the trigger."""
        import asyncio

        from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

        _, kwargs = build_trigger(
            hook, job_id, poll_policy=self.poll_policy, timeout=wait_for, status_overrides=self.status_overrides
        ).serialize()
        try:
            event = asyncio.run(VideoJobTrigger(**kwargs).wait())
        except AirflowTaskTimeout:  # execution_timeout's alarm went off first: say what became of the job
            raise AirflowTaskTimeout(
                self._timed_out(f"{hook.provider} job {job_id}: execution_timeout", job_id)
            ) from None
        return self.execute_complete({}, event, job_id=job_id)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job_id: str | None = None
    ) -> dict[str, Any]:
        """Resume after the wait: validate the event, then return the final job or raise."""
        expected = job_id or (event.get("job_id") if isinstance(event, dict) else None) or ""
        if not job_id and context:
            ti = context["ti"]
            # map_indexes: a mapped task must read its own id, not every instance's.
            pushed = ti.xcom_pull(task_ids=self.task_id, key=JOB_ID_XCOM_KEY, map_indexes=ti.map_index)
            expected = pushed or expected
        self.current_job_id = str(expected)
        try:
            job = job_from_event(
                event,
                job_id=str(expected),
                on_timeout=_WaitTimeout,
                reread=lambda: self.hook().get_job(str(expected)),
            )
        except _WaitTimeout as timed_out:
            raise _WaitTimeout(self._timed_out(timed_out.base_message, str(expected))) from None
        self.log.info("%s", job.summary())
        return result_of(job)

    def _timed_out(self, message: str, job_id: str) -> str:
        """The timeout's message, after cancelling the job where asked: cancelled, or still running."""
        hook = self.hook()
        vendor = hook.api_spec.vendor if hook.api_spec else hook.provider
        if self.cancel_on_timeout and hook.can_cancel:
            try:
                hook.cancel_job(job_id)
            except (VideoJobError, ValueError) as error:
                return (
                    f"{message}; cancel_on_timeout could not cancel it ({error}): still running at {vendor} and may "
                    f"be billed: job {job_id}"
                )
            return f"{message}; the job was cancelled at {vendor} (cancel_on_timeout)"
        return f"{message}; still running at {vendor} and may be billed: job {job_id}"


class _WaitTimeout(VideoJobError):
    """The video did not finish within the operator's timeout (or the task's execution_timeout)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            hint="Raise timeout/execution_timeout, set cancel_on_timeout=True to stop the job, or wait on the job "
            "id with VideoJobSensor",
        )
        self.base_message = message


def create_request(provider: str, request: Any, *, at_parse: bool = False) -> dict[str, Any]:
    """``request`` validated against the API's model: its ``create_job`` arguments, or a clear ValueError.

    At parse time, fields still to be rendered (templates, XComArgs) are not judged: they are at run time.
    An API that cannot create is refused in both.
    """
    cls = hook_class(provider)
    model = cls.request_model
    if not cls.can_create or model is None:
        creators = ", ".join(name for name in HOOKS if hook_class(name).can_create)
        raise ValueError(
            f"GenerateVideoOperator: the {provider} API documents no way to create a job, so this task cannot "
            f"start one. Use an API that can create ({creators}), or wait on a job made elsewhere with "
            "VideoJobSensor."
        )
    if at_parse and (request is None or _deferred(request)):
        return {}
    if isinstance(request, BaseModel):
        request = request.model_dump(exclude_unset=True)
    try:
        fields = as_params(request, "request")
    except ValueError as error:
        raise ValueError(f"GenerateVideoOperator ({provider}): {error}") from None
    try:
        validated = model.model_validate(fields)
    except ValidationError as error:
        problems = [e for e in error.errors(include_url=False) if not (at_parse and _judged_later(fields, e["loc"]))]
        if not problems:
            return {}
        text = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in problems[:5])
        raise ValueError(
            f"GenerateVideoOperator: invalid {provider} request ({model.__name__}): {text}. Fields: "
            f"{', '.join(model.model_fields)}"
        ) from None
    # Not at parse time: create_kwargs() may read files (an image to animate) that only the worker has.
    return {} if at_parse else validated.create_kwargs()


def check_cancel_on_timeout(provider: str) -> None:
    """Refuse ``cancel_on_timeout`` for an API that documents no cancel."""
    if not hook_class(provider).can_cancel:
        raise ValueError(
            f"cancel_on_timeout=True: the {provider} API documents no way to cancel a job. Remove the option."
        )


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _deferred(value: Any) -> bool:
    """A value Airflow renders or resolves later: a template, or an XComArg (anything not plain data)."""
    plain = (str, bytes, bytearray, int, float, bool, type(None), Mapping, list, tuple, os.PathLike)
    return _templated(value) or not isinstance(value, plain)


def _judged_later(fields: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    """Whether an error at ``loc`` is about a value rendered only when the task runs (or under one)."""
    value: Any = fields
    for key in loc:
        if _deferred(value):
            return True
        in_mapping = isinstance(value, Mapping) and key in value
        in_list = isinstance(value, list | tuple) and isinstance(key, int) and key < len(value)
        if not (in_mapping or in_list):
            return False
        value = value[key]
    return _deferred(value)


__all__ = ["JOB_ID_XCOM_KEY", "GenerateVideoOperator", "create_request"]
