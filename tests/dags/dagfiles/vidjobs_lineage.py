"""Create from an image, wait in the triggerer, download: the DAG whose OpenLineage events
tests/dags/test_lineage_dag.py reads (image path and output folder come from ``dag_run.conf``)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG
from vidjobs_dagtest_support import record_failure

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.operators.download import DownloadVideoOperator
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor

with DAG(
    "vidjobs_lineage",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"on_failure_callback": record_failure},
) as dag:
    create = AIHubMixCreateVideoOperator(
        task_id="create",
        prompt="a lighthouse in fog",
        model="sora-2",
        input_reference="{{ dag_run.conf['image_path'] }}",
        extra_params={"sim": {"queued_s": 0.2, "running_s": 1.0}},
    )
    wait = VideoJobSensor(
        task_id="wait",
        conn_id="aihubmix_default",
        job_id=create.output["job_id"],
        deferrable=True,
        poll_interval=0.3,
        timeout=60,
    )
    DownloadVideoOperator(
        task_id="download",
        conn_id="aihubmix_default",
        job=wait.output,
        destination="{{ dag_run.conf['output_dir'] }}/",
    )
