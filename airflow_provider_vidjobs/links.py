"""The "Video job" button on a task: a link to the job in the vendor's web app, where one is known.

Links are computed on the worker (the API server has no connection secrets to ask), stored in XCom,
and read back by :class:`VideoJobLink`. A URL the API returns for the job (:attr:`VideoJob.web_url`)
comes first; else a connection's extra ``web_url_template`` (e.g. ``https://app.example.com/jobs/{job_id}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook
    from airflow_provider_vidjobs.models import VideoJob

XCOM_KEY = "video_job_url"


class VideoJobLink(BaseOperatorLink):
    """Opens the job in the vendor's web app."""

    name = "Video job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        url = XCom.get_value(key=XCOM_KEY, ti_key=ti_key)
        return str(url) if url else ""


def job_link(hook: VideoJobHook, job_id: object, job: VideoJob | None = None) -> str:
    """The job's web URL: the API's own (``job.web_url``) first, else the connection's template, else ""."""
    if job is not None and job.web_url:
        return job.web_url
    try:
        return hook.job_web_url(hook.validate_job_id(job_id)) or ""
    except ValueError:
        return ""  # the task itself reports a bad id, with the full message


def push_job_link(context: Any, hook: VideoJobHook, job_id: object, job: VideoJob | None = None) -> None:
    """Store the job's web URL for :class:`VideoJobLink` ("" when neither the API nor the connection has one).

    Always stored: Airflow reads every declared link when the task ends, and logs an error for a
    missing XCom.
    """
    context["ti"].xcom_push(key=XCOM_KEY, value=job_link(hook, job_id, job))
