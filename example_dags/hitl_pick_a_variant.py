"""Generate three variants of one prompt, let a person pick one, download only that one.

Pipeline:

1. ``create_variant_1`` .. ``create_variant_3``: ``AIHubMixCreateVideoOperator`` with the prompt and a
   different framing each (``VARIANTS``), waiting for the video in the triggerer (deferrable).
2. ``choose_variant``: Airflow's human-in-the-loop ``HITLOperator`` (standard provider, Airflow 3.1+)
   asks *Which variant should be downloaded?* in the UI (Browse > Required Actions, or the task's page),
   showing each variant's prompt, job id, length and a preview link. It waits without a worker slot.
   With no answer within ``response_timeout`` (the ``pick_timeout_minutes`` default, 60) the default
   option, *Variant 1*, is taken (Airflow 3.3 applies it from the scheduler; 3.1/3.2 from the triggerer).
3. ``chosen_job``: the chosen variant's ``VideoJob``.
4. ``download_chosen``: ``DownloadVideoOperator`` downloads that video only into ``output_dir``.

Without the HITL operators (Airflow < 3.1, or an older ``apache-airflow-providers-standard``) the file
still parses: the DAG then has one task, ``hitl_unavailable``, which skips itself saying why.

Headless: ``airflow dags test`` has no scheduler to apply the timeout, so nobody answers; the demo
(``example_dags/demo.py``) answers *Variant 2* with ``airflow_provider_vidjobs.testing.hitl`` (as the
REST API does), and so does ``tests/example_dags/test_hitl_example.py``. By hand::

    PATCH /api/v2/dags/hitl_pick_a_variant/dagRuns/{run_id}/taskInstances/choose_variant/-1/hitlDetails
    {"chosen_options": ["Variant 2"]}
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator

try:
    from airflow.providers.standard.operators.hitl import HITLOperator
except Exception as error:  # ImportError, or the provider's "needs Airflow 3.1+" exception
    HITLOperator = None
    HITL_MISSING = f"{type(error).__name__}: {error}"
else:
    HITL_MISSING = ""

POLL_SECONDS = float(os.environ.get("VIDJOBS_EXAMPLE_POLL_SECONDS", "15"))
#: One framing per variant, appended to the prompt (the option a person picks is "Variant <n>").
VARIANTS = ("wide establishing shot", "slow dolly-in, close-up", "handheld, golden hour")
OPTIONS = [f"Variant {n}" for n in range(1, len(VARIANTS) + 1)]

BODY = """\
Three takes of **{{ params.prompt }}**. Pick the one to download; the others are not downloaded.

| option | framing | job id | length | preview |
|---|---|---|---|---|
{% for n in range(1, LAST + 1) -%}
{%- set job = ti.xcom_pull(task_ids='create_variant_' ~ n) or {} -%}
{%- set video = job.get('video') or {} -%}
| Variant {{ n }} | {{ job.get('prompt', '') | replace(params.prompt ~ ', ', '') }} | `{{ job.get('job_id') }}` \
| {{ video.get('duration_seconds') or '?' }} s | {{ video.get('url') or '-' }} |
{% endfor %}
""".replace("LAST", str(len(VARIANTS)))


def send_extra_params(context: Any) -> None:
    """The run's ``extra_params`` param into the create request (see aihubmix_generate_and_download)."""
    context["task"].extra_params = dict(context["params"].get("extra_params") or {})


def pick_timeout(context: Any) -> None:
    """``response_timeout`` from the run's ``pick_timeout_minutes`` param, just before the task asks."""
    context["task"].response_timeout = timedelta(minutes=float(context["params"]["pick_timeout_minutes"]))


with DAG(
    dag_id="hitl_pick_a_variant",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["vidjobs", "aihubmix", "hitl", "example"],
    params={
        "prompt": Param("A lighthouse in rolling fog at dawn", type="string", minLength=1),
        "model": Param("sora-2", type="string"),
        "seconds": Param("4", type="string"),
        "size": Param("1280x720", type="string"),
        "output_dir": Param("/tmp/vidjobs-videos/", type="string", minLength=1),
        "pick_timeout_minutes": Param(60, type="number", minimum=1, description="Then Variant 1 is taken."),
        "extra_params": Param({}, type="object", description="Sent with each create (simulator: {'sim': {...}})."),
    },
) as dag:
    if HITLOperator is None:

        @task
        def hitl_unavailable() -> None:
            """Skip, saying why: this Airflow has no human-in-the-loop operators."""
            from airflow.providers.common.compat.sdk import AirflowSkipException

            raise AirflowSkipException(
                "hitl_pick_a_variant needs Airflow's human-in-the-loop operators (Airflow >= 3.1 with "
                f"apache-airflow-providers-standard >= 1.5): {HITL_MISSING}"
            )

        hitl_unavailable()
    else:
        creates = [
            AIHubMixCreateVideoOperator(
                task_id=f"create_variant_{n}",
                conn_id="aihubmix_default",
                prompt="{{ params.prompt }}, " + framing,
                model="{{ params.model }}",
                seconds="{{ params.seconds }}",
                size="{{ params.size }}",
                wait_for_completion=True,
                deferrable=True,
                poll_interval=POLL_SECONDS,
                max_poll_interval=max(60.0, POLL_SECONDS),
                pre_execute=send_extra_params,
            )
            for n, framing in enumerate(VARIANTS, start=1)
        ]

        choose = HITLOperator(
            task_id="choose_variant",
            subject="Which variant of '{{ params.prompt }}' should be downloaded?",
            body=BODY,
            options=OPTIONS,
            defaults=[OPTIONS[0]],
            response_timeout=timedelta(hours=1),
            pre_execute=pick_timeout,
        )

        @task
        def chosen_job(answer: dict[str, Any], **context: Any) -> dict[str, Any]:
            """The ``VideoJob`` of the variant the person chose."""
            (option,) = answer["chosen_options"]
            n = int(option.rsplit(" ", 1)[-1])
            job: dict[str, Any] = context["ti"].xcom_pull(task_ids=f"create_variant_{n}")
            print(f"{option} chosen by {answer.get('responded_by_user') or 'the timeout default'}: {job['job_id']}")
            return job

        job = chosen_job(choose.output)
        creates >> choose
        DownloadVideoOperator(
            task_id="download_chosen",
            conn_id="aihubmix_default",
            job=job,
            destination="{{ params.output_dir.rstrip('/') }}/",
        )
