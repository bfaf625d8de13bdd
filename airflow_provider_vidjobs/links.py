"""The "Video job" button on a task: a link to the job in the vendor's web app, where one is known.

Links are computed on the worker (the API server has no connection secrets to ask): a task records the
URL it found on itself (:func:`push_job_link`), and Airflow stores it in XCom ``_link_VideoJobLink``
when the task ends or defers, where the API server reads it. A URL the API returns for the job
(:attr:`VideoJob.web_url`) comes first; else a connection's extra ``web_url_template`` (e.g.
``https://app.example.com/jobs/{job_id}``). A task with no URL stores nothing: no empty XCom rows.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook
    from airflow_provider_vidjobs.models import VideoJob

#: Where Airflow stores the link (``BaseOperatorLink.xcom_key``: ``_link_<class name>``) and the API server
#: reads it. The triggerer writes it there too when it ends a task (``end_from_trigger``).
XCOM_KEY = "_link_VideoJobLink"
#: The attribute of the running task that holds the URL found in this task process.
URL_ATTR = "_vidjobs_job_url"


class VideoJobLink(BaseOperatorLink):
    """Opens the job in the vendor's web app."""

    name = "Video job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # Called by Airflow on the worker as the task ends or defers, with the running task.
        url = getattr(operator, URL_ATTR, "") or XCom.get_value(key=XCOM_KEY, ti_key=ti_key)
        return str(url) if url else ""


class JobLinks:
    """``operator_extra_links`` of a task with a "Video job" link: stores the link only when there is one.

    Airflow's UI lists the link of every task that declares it (read from the serialized DAG: the class
    always declares it), and Airflow stores each declared link in XCom as a task ends, "" included. On
    the running task (``_lock_for_execution``) this offers the link only once a URL is known in this
    process, so a task with none stores no empty ``_link_VideoJobLink`` row, and a resumed task that found
    nothing new keeps the link stored before it deferred.
    """

    def __get__(self, obj: object, owner: type | None = None) -> Collection[BaseOperatorLink]:
        if obj is None or not getattr(obj, "_lock_for_execution", False) or getattr(obj, URL_ATTR, None):
            return (VideoJobLink(),)
        return ()


def job_link(hook: VideoJobHook, job_id: object, job: VideoJob | None = None) -> str:
    """The job's web URL: the API's own (``job.web_url``) first, else the connection's template, else ""."""
    if job is not None and job.web_url:
        return job.web_url
    try:
        return hook.job_web_url(hook.validate_job_id(job_id)) or ""
    except Exception:  # a bad id, a missing connection: the task itself reports it, with the full message
        return ""


def push_job_link(context: Any, hook: VideoJobHook, job_id: object, job: VideoJob | None = None) -> None:
    """Give the task the job's web URL for :class:`VideoJobLink`; Airflow stores it as the task ends or defers.

    Call it whenever the job has been read (the API's own page beats the connection's template), on
    every path that ends a task, failures included. No URL: nothing is recorded (a URL found earlier stays).
    """
    url = job_link(hook, job_id, job)
    task = context.get("task") or getattr(context.get("ti"), "task", None)
    if url and task is not None:  # Airflow's context always has the task; a link never fails a task
        setattr(task, URL_ATTR, url)
