"""Create a video with AIHubMix (or any OpenAI-shaped Videos API), optionally waiting for it to finish."""

from __future__ import annotations

import ast
import base64
import binascii
import json
import mimetypes
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_vidjobs import reattach
from airflow_provider_vidjobs.exceptions import VideoJobError
from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook, InputReference
from airflow_provider_vidjobs.lineage import VideoJobLineageMixin
from airflow_provider_vidjobs.links import VideoJobLink, push_job_link
from airflow_provider_vidjobs.polling import PollPolicy
from airflow_provider_vidjobs.reattach import Reattacher, check_orphan_policy, request_fingerprint
from airflow_provider_vidjobs.waiting import (
    build_trigger,
    cancel_quietly,
    check_cancel_on_kill,
    job_from_event,
    result_of,
    wants_end_from_trigger,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: XCom key of the new video's id, pushed as soon as the API accepted the job.
JOB_ID_XCOM_KEY = "job_id"


class AIHubMixCreateVideoOperator(VideoJobLineageMixin, BaseOperator):
    """Starts a video job (``POST /v1/videos``), pushes its id, and optionally waits for it like the sensor.

    :param prompt: what to generate (templated).
    :param model: e.g. ``sora-2``, ``veo-3.1``; the API's default when None.
    :param seconds: clip length (sent as a string, as the API documents).
    :param size: ``WxH`` such as ``1280x720`` (gateways also take ``720P``...).
    :param input_reference: an image to animate: a local path, an http(s) URL, a ``data:`` URL, or bytes.
    :param extra_params: more fields passed through unchanged (model-specific parameters).
    :param wait_for_completion: wait for the video and return the final job (deferrable or not).
    :param timeout: with ``wait_for_completion``, seconds to wait before failing.
    :param reattach: on a retry or after a clear, wait on the job an earlier try created for the same request
        instead of creating (and paying for) another; see README "Re-attach and cancel on kill".
    :param on_orphaned_intent: when an earlier try sent its create and died before reading the answer, the
        job it may have made is looked for in the API's list (``GET /v1/videos``) and re-attached to; where
        the gateway has no list, ``"fail"`` (default) fails the task naming the window to check in the
        vendor's console, and ``"create"`` creates another (paying twice if the first request made a job).
    :param cancel_on_kill: when a user marks the waiting task failed/success or clears it, ask the API to stop
        the job (``DELETE /v1/videos/{id}``; a deferred wait needs Airflow 3.3+). Off by default.
    :param end_from_trigger: with ``wait_for_completion`` and ``deferrable``, a video that succeeds ends the
        task in the triggerer, which stores the XCom: no worker resumes the task (other outcomes still do).

    Returns the job as a JSON dict (the final one when waiting). The id is also pushed at once under
    XCom key ``job_id`` (for downstream tasks; a new try clears it, so re-attaching does not rely on it).
    """

    template_fields: Sequence[str] = (
        "prompt",
        "model",
        "seconds",
        "size",
        "input_reference",
        "extra_params",
        "conn_id",
    )
    template_fields_renderers = {"extra_params": "json"}
    operator_extra_links = (VideoJobLink(),)
    ui_color = "#dcecf7"

    def __init__(
        self,
        *,
        prompt: str,
        model: str | None = None,
        seconds: str | int | None = None,
        size: str | None = None,
        input_reference: str | bytes | os.PathLike[str] | None = None,
        extra_params: Mapping[str, Any] | str | None = None,
        conn_id: str = AIHubMixHook.default_conn_name,
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
        end_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt
        self.model = model
        self.seconds = seconds
        self.size = size
        self.input_reference = input_reference
        # Kept as given: it may be a template or an XComArg until execute() renders it.
        self.extra_params = extra_params
        self.conn_id = conn_id
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
        self.end_from_trigger = wants_end_from_trigger(self, end_from_trigger)
        if cancel_on_kill:
            check_cancel_on_kill(AIHubMixHook.provider, deferrable and wait_for_completion)
        #: The job this try created or re-attached to (for :meth:`on_kill`).
        self.current_job_id: str | None = None

    def hook(self) -> AIHubMixHook:
        return AIHubMixHook(self.conn_id, status_overrides=self.status_overrides)

    def execute(self, context: Context) -> dict[str, Any] | None:
        hook = self.hook()
        request: dict[str, Any] = {
            "prompt": self.prompt,
            "model": self.model,
            "seconds": self.seconds,
            "size": self.size,
            "input_reference": to_input_reference(self.input_reference),
            "extra_params": as_params(self.extra_params),
        }
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
            job = memory.create(lambda: hook.create_video(**request)) if memory else hook.create_video(**request)
            self.log.info("created %s", job.summary())
        self.current_job_id = job.job_id
        context["ti"].xcom_push(key=JOB_ID_XCOM_KEY, value=job.job_id)
        push_job_link(context, hook, job.job_id, job)
        if not self.wait_for_completion:
            return job.to_xcom()
        if job.is_terminal:
            return result_of(job)
        if self.deferrable:
            self.defer(
                trigger=build_trigger(
                    hook,
                    job.job_id,
                    poll_policy=self.poll_policy,
                    timeout=self.wait_timeout,
                    status_overrides=self.status_overrides,
                    cancel_on_kill=self.cancel_on_kill,
                    end_from_trigger=self.end_from_trigger,
                ),
                method_name="execute_complete",
            )
        return self._wait_here(hook, job.job_id)

    def on_kill(self) -> None:
        """The task process is stopped while it waits here (non-deferrable): stop the job if asked to."""
        if self.cancel_on_kill and self.current_job_id:
            cancel_quietly(self.hook(), self.current_job_id, self.log)

    def _wait_here(self, hook: AIHubMixHook, job_id: str) -> dict[str, Any]:
        """Poll from the worker (non-deferrable), with the same policy and outcomes as the trigger."""
        import asyncio

        from airflow_provider_vidjobs.triggers.video_job import VideoJobTrigger

        _, kwargs = build_trigger(
            hook,
            job_id,
            poll_policy=self.poll_policy,
            timeout=self.wait_timeout,
            status_overrides=self.status_overrides,
        ).serialize()
        event = asyncio.run(VideoJobTrigger(**kwargs).wait())
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
        job = job_from_event(
            event, job_id=str(expected), on_timeout=_WaitTimeout, reread=lambda: self.hook().get_job(str(expected))
        )
        self.log.info("%s", job.summary())
        return result_of(job)


class _WaitTimeout(VideoJobError):
    """The video did not finish within the operator's timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="Raise the operator's timeout, or wait on the job id with VideoJobSensor")


def as_params(value: Any) -> dict[str, Any]:
    """``extra_params`` as rendered: a dict, or the text of one (a Jinja template renders a dict as text)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise ValueError(f"extra_params rendered to text that is not a dict: {value[:200]!r}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"extra_params must be a dict of API fields, not {type(value).__name__}")
    return dict(value)


def to_input_reference(value: str | bytes | os.PathLike[str] | Mapping[str, Any] | None) -> InputReference | None:
    """A user's image (path, URL, data URL, bytes, or ``{"image_url"}``/``{"file_id"}``) as an input reference."""
    if value is None or value == "":
        return None
    if isinstance(value, bytes | bytearray):
        return InputReference(content=bytes(value), filename="input", content_type=_sniff(bytes(value)))
    if isinstance(value, Mapping):
        return InputReference(image_url=value.get("image_url"), file_id=value.get("file_id"))
    text = os.fspath(value)
    if text.startswith(("http://", "https://")):
        return InputReference(image_url=text)
    if text.startswith("data:"):
        header, _, payload = text.partition(",")
        try:
            content = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("input_reference is a data: URL whose content is not valid base64") from None
        content_type = header[5:].split(";")[0] or "application/octet-stream"
        return InputReference(content=content, filename="input", content_type=content_type)
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(f"input_reference {text!r} is not a file, an http(s) URL or a data: URL")
    return InputReference(
        content=path.read_bytes(),
        filename=path.name,
        content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
    )


def _sniff(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
