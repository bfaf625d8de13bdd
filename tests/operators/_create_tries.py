"""Tries of a create task for the re-attach tests: a log that keeps each line as printed, and one try (a
fresh hook and re-attacher over a shared task-state store) that creates the simulator's test job of an API."""

from __future__ import annotations

from typing import Any

from _apis import CONTRACT_APIS
from _task_state import MemoryTaskState

from airflow_provider_vidjobs import reattach
from airflow_provider_vidjobs.hooks.base import VideoJobHook
from airflow_provider_vidjobs.hooks.registry import hook_class

#: The simulator's timeline for test jobs: still running at the next try.
SLOW = {"sim": {"queued_s": 600, "running_s": 60}}


class Log:
    """The operator log's surface, keeping each line as it would be printed."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _add(self, level: str, message: str, *args: Any) -> None:
        self.lines.append((level, message % args if args else message))

    def info(self, message: str, *args: Any) -> None:
        self._add("info", message, *args)

    def warning(self, message: str, *args: Any) -> None:
        self._add("warning", message, *args)

    def error(self, message: str, *args: Any) -> None:
        self._add("error", message, *args)

    def text(self, level: str | None = None) -> str:
        return "\n".join(line for lvl, line in self.lines if level in (None, lvl))


def request_of(api: str) -> dict[str, Any]:
    request = dict(CONTRACT_APIS[api].facts.create_request)
    request["extra_params"] = SLOW  # the simulator's timeline: the job is still running at the next try
    return request


class Try:
    """One try of the task: a fresh hook and re-attacher over the shared store."""

    def __init__(self, api: str, state: MemoryTaskState, **options: Any) -> None:
        self.hook: VideoJobHook = hook_class(api)()
        self.request = request_of(api)
        self.log = Log()
        self.memory = reattach.Reattacher(
            reattach.TaskStateStore(state),
            reattach.request_fingerprint(self.hook, self.request),
            self.hook,
            self.log,
            request=self.request,
            sleep=lambda _: None,
            **options,
        )

    def run(self) -> str:
        """What the create operator does: re-attach, else create; the job id the try ends with."""
        job = self.memory.reusable_job()
        if job is None:
            job = self.memory.create(lambda: self.hook.create_job(self.request))
        return job.job_id
