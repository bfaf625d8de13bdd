"""Every operator of the provider in one DAG run (used by tests/dags/test_operator_dag.py).

Job ids, paths and the prompt come from ``dag_run.conf``; the videos created here carry their
simulated timeline in ``extra_params={"sim": ...}``, which the simulator reads from the create body.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG
from vidjobs_dagtest_support import record_failure

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.operators.video_job import GetVideoJobOperator

#: A video that is done about a second after it was created.
QUICK = {"sim": {"queued_s": 0.2, "running_s": 0.8}}
#: A video that is still queued when the run ends.
SLOW = {"sim": {"queued_s": 600, "running_s": 60}, "quality": "high"}
#: An image given as bytes (PNG signature, so the operator sends it as image/png).
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

with DAG(
    "vidjobs_operators",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"on_failure_callback": record_failure},
) as dag:
    get_tp = GetVideoJobOperator(task_id="get_tp", job_id="{{ dag_run.conf['tp_job'] }}", conn_id="tensorpix_default")
    get_ah = GetVideoJobOperator(task_id="get_ah", job_id="{{ dag_run.conf['ah_failed_job'] }}", provider="aihubmix")

    create = AIHubMixCreateVideoOperator(
        task_id="create",
        prompt="{{ dag_run.conf['prompt'] }}",
        model="sora-2-pro",
        seconds=8,
        size="1280x720",
        extra_params=SLOW,
    )
    create_bytes = AIHubMixCreateVideoOperator(
        task_id="create_bytes", prompt="animate these bytes", input_reference=PNG_BYTES, extra_params=SLOW
    )
    create_file_wait = AIHubMixCreateVideoOperator(
        task_id="create_file_wait",
        prompt="animate this file",
        input_reference="{{ dag_run.conf['image_path'] }}",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.3,
        timeout=60,
        extra_params=QUICK,
    )
    create_url_defer = AIHubMixCreateVideoOperator(
        task_id="create_url_defer",
        prompt="animate this URL",
        input_reference="{{ dag_run.conf['image_url'] }}",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.3,
        timeout=60,
        extra_params=QUICK,
    )
    # A succeeded video ends the task in the trigger (dag.test() resumes it all the same: it reads the job).
    AIHubMixCreateVideoOperator(
        task_id="create_end_defer",
        prompt="end in the triggerer",
        wait_for_completion=True,
        deferrable=True,
        end_from_trigger=True,
        poll_interval=0.3,
        timeout=60,
        extra_params=QUICK,
    )

    DownloadVideoOperator(
        task_id="download_tp",
        job=get_tp.output,
        destination="{{ dag_run.conf['out_dir'] }}/",
        include_thumbnail=True,
    )
    DownloadVideoOperator(
        task_id="download_ah",
        job=create_url_defer.output,
        destination="{{ dag_run.conf['memory_dir'] }}/{job_id}.mp4",
        include_thumbnail=True,
    )
