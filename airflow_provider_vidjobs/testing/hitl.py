"""A scripted answer to a human-in-the-loop task, for tests and the headless demo.

``dag.test()`` and ``airflow dags test`` leave a HITL task waiting (Airflow 3.3: ``awaiting_input``;
3.1/3.2: deferred on ``HITLTrigger``) until someone answers in the UI or through the REST API; on 3.3 even
a ``response_timeout`` is enforced only by the scheduler, which neither runs. :func:`answer_when_asked`
answers as that REST API does (it calls the API's own handler on the metadata DB), so the task resumes
exactly as after a person's click. It needs the metadata DB, and ``fastapi`` (installed with Airflow).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast


@dataclass
class _ScriptUser:
    """The user the answer is recorded as (what Airflow's auth manager gives the REST handler)."""

    name: str

    def get_id(self) -> str:
        return self.name

    def get_name(self) -> str:
        return self.name


def _waiting_run_id(dag_id: str, task_id: str, map_index: int) -> str | None:
    """The run whose ``task_id`` asks and has no answer yet, if any."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run_id: str | None = session.scalar(
            select(TaskInstance.run_id)
            .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.task_id == task_id,
                TaskInstance.map_index == map_index,
                HITLDetail.responded_at.is_(None),
            )
            .limit(1)
        )
        return run_id


def answer(
    dag_id: str, run_id: str, task_id: str, chosen_options: Sequence[str], *, user: str, map_index: int = -1
) -> None:
    """Record ``chosen_options`` for the task through the REST API's handler (which also resumes it)."""
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    with create_session() as session:
        update_hitl_detail(
            dag_id=dag_id,
            dag_run_id=run_id,
            task_id=task_id,
            update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=list(chosen_options)),
            user=cast(Any, _ScriptUser(user)),  # duck-types the auth manager's BaseUser
            session=session,
            map_index=map_index,
        )


@dataclass
class ScriptedAnswer:
    """A background thread that answers ``task_id`` of ``dag_id`` once it asks (see :func:`answer_when_asked`)."""

    dag_id: str
    task_id: str
    chosen_options: list[str]
    user: str = "scripted-answer"
    map_index: int = -1
    timeout: float = 600.0
    poll: float = 0.5
    #: The run answered, once it was; the error, if answering failed.
    answered_run_id: str | None = None
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> ScriptedAnswer:
        self._thread = threading.Thread(target=self._run, name=f"hitl-answer-{self.task_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                run_id = _waiting_run_id(self.dag_id, self.task_id, self.map_index)
                if run_id is not None:
                    answer(
                        self.dag_id, run_id, self.task_id, self.chosen_options, user=self.user, map_index=self.map_index
                    )
                    self.answered_run_id = run_id
                    return
                self._stop.wait(self.poll)
        except BaseException as error:  # reported to whoever started the script
            self.error = error

    def __enter__(self) -> ScriptedAnswer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def answer_when_asked(dag_id: str, task_id: str, chosen_options: Sequence[str], **kwargs: Any) -> ScriptedAnswer:
    """Answer ``task_id`` of ``dag_id`` with ``chosen_options`` as soon as it asks; use as a context manager::

    with answer_when_asked("hitl_pick_a_variant", "choose_variant", ["Variant 2"]) as script:
        dag.test()
    assert script.answered_run_id
    """
    return ScriptedAnswer(dag_id, task_id, list(chosen_options), **kwargs)
