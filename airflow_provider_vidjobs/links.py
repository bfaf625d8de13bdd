"""The "Video job" button on a task: a link to the job in the vendor's web app, where one is known.

Links are computed on the worker (the API server has no connection secrets to ask), stored in XCom,
and read back by :class:`VideoJobLink`. A connection gets a link by setting the extra
``web_url_template`` (e.g. ``https://app.example.com/jobs/{job_id}``); neither vendor documents one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook

XCOM_KEY = "video_job_url"


class VideoJobLink(BaseOperatorLink):
    """Opens the job in the vendor's web app."""

    name = "Video job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        url = XCom.get_value(key=XCOM_KEY, ti_key=ti_key)
        return str(url) if url else ""


def push_job_link(context: Any, hook: VideoJobHook, job_id: object) -> None:
    """Store the job's web URL for :class:`VideoJobLink` ("" when the connection defines none).

    Always stored: Airflow reads every declared link when the task ends, and logs an error for a
    missing XCom.
    """
    try:
        url = hook.job_web_url(hook.validate_job_id(job_id))
    except ValueError:
        url = None  # the task itself reports a bad id, with the full message
    context["ti"].xcom_push(key=XCOM_KEY, value=url or "")
