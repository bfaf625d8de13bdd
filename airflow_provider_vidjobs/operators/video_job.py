"""Read a video job once and push its normalized metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_vidjobs.links import JobLinks, push_job_link
from airflow_provider_vidjobs.waiting import job_reference, make_hook

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class GetVideoJobOperator(BaseOperator):
    """Fetches a job once (whatever its status) and returns its :class:`VideoJob` as a JSON dict.

    :param job_id: the job's id (templated; an upstream ``VideoJob`` XCom dict works too).
    :param conn_id: a ``tensorpix`` or ``aihubmix`` connection; the API is taken from its type.
    :param provider: the API, when ``conn_id`` is not given.
    :param status_overrides: vendor status -> ``queued``/``running``/``succeeded``/``failed``/``cancelled``.
    """

    template_fields: Sequence[str] = ("job_id", "conn_id", "provider", "status_overrides")
    operator_extra_links = JobLinks()  # the "Video job" link, stored only when there is one

    def __init__(
        self,
        *,
        job_id: str,
        conn_id: str | None = None,
        provider: str | None = None,
        status_overrides: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.conn_id = conn_id
        self.provider = provider
        self.status_overrides = dict(status_overrides or {})

    def execute(self, context: Context) -> dict[str, Any]:
        job_id, provider = job_reference(self.job_id, self.provider)
        hook = make_hook(provider, self.conn_id, self.status_overrides)
        push_job_link(context, hook, job_id)
        job = hook.get_job(job_id)
        push_job_link(context, hook, job_id, job)  # the API's own page beats the connection's template
        self.log.info("%s", job.summary())
        return job.to_xcom()
