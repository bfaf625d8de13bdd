"""Regressions: ids that a template rendered to nothing, and an upstream XCom rendered as text."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.operators.video_job import GetVideoJobOperator


@pytest.mark.parametrize("hook_cls", [TensorPixHook, AIHubMixHook])
@pytest.mark.parametrize("rendered", ["None", " null "])
def test_an_id_rendered_from_nothing_is_refused_with_a_template_hint(hook_cls: Any, rendered: str) -> None:
    with pytest.raises(ValueError, match="rendered nothing"):
        hook_cls("unused").validate_job_id(rendered)


class _TI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_get_operator_reads_an_upstream_job_xcom_rendered_as_text(vidjobs_simulator: Any, monkeypatch: Any) -> None:
    for name, value in vidjobs_simulator.airflow_connections().items():
        monkeypatch.setenv(name, value)
    created = vidjobs_simulator.control.create_job("aihubmix", sim={"queued_s": 0, "running_s": 0})
    upstream = {"schema_version": 1, "provider": "aihubmix", "job_id": created["id"], "status": "succeeded"}
    # Airflow renders a dict template as its Python repr unless render_template_as_native_obj is set.
    op = GetVideoJobOperator(task_id="get", job_id=repr(upstream))
    result = op.execute({"ti": _TI()})
    assert result["job_id"] == created["id"]
    assert result["provider"] == "aihubmix"
