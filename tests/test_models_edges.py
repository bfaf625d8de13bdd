"""Edges of models.py that its mutants showed untested: lenient values at their limits, status overrides
that differ only in their keys, what an unknown status says, and the XCom's optional web page."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from airflow_provider_vidjobs import models
from airflow_provider_vidjobs.models import (
    COMMON_SPELLINGS,
    JobStatus,
    LenientDecimal,
    UnixTime,
    VideoJob,
    duration_from_frames,
    parse_status_overrides,
    shared_status_mapper,
)


class Wire(BaseModel):
    cost: LenientDecimal = None
    at: UnixTime = None


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_a_cost(value: bool) -> None:
    assert Wire(cost=value).cost is None


def test_a_cost_as_text_or_number_is_a_decimal() -> None:
    assert Wire(cost="1.50").cost == Decimal("1.50")
    assert Wire(cost=2).cost == Decimal(2)


def test_the_first_second_after_the_epoch_is_a_time_and_zero_is_none() -> None:
    assert Wire(at=1).at == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert Wire(at=0).at is None


def test_a_frame_count_and_rate_of_one_or_less_still_give_a_duration() -> None:
    assert duration_from_frames(10, 1) == 10.0
    assert duration_from_frames(5, 0.5) == 10.0
    assert duration_from_frames(0.5, 1) == 0.5  # type: ignore[arg-type]  # a vendor's odd, still positive, count


def test_overrides_that_differ_only_in_their_keys_map_their_own_statuses() -> None:
    table = {"queued": JobStatus.QUEUED}
    first = shared_status_mapper("edge-api", table, {"ALPHA_DONE": "succeeded"})
    second = shared_status_mapper("edge-api", table, {"BETA_DONE": "succeeded"})
    assert first.map("ALPHA_DONE") is JobStatus.SUCCEEDED
    assert second.map("BETA_DONE") is JobStatus.SUCCEEDED
    assert second.map("ALPHA_DONE") is JobStatus.UNKNOWN


def test_overrides_of_the_wrong_type_name_their_type() -> None:
    with pytest.raises(TypeError, match=r"not <class 'list'>"):
        parse_status_overrides(["done"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not <class 'list'>"):
        shared_status_mapper("edge-api", COMMON_SPELLINGS, ["done"])  # type: ignore[arg-type]


def test_an_override_to_no_status_lists_the_statuses_there_are() -> None:
    allowed = ", ".join(status.value for status in JobStatus)
    with pytest.raises(ValueError, match=re.escape("use one of: " + allowed)):
        parse_status_overrides({"DONE": "finished"})


def test_an_unknown_status_says_who_sent_it_and_how_to_map_it(caplog: pytest.LogCaptureFixture) -> None:
    mapper = shared_status_mapper("edge-api-warn", COMMON_SPELLINGS)
    models._warned.discard(("edge-api-warn", "RENDERING_ON_GPU"))
    with caplog.at_level(logging.WARNING, logger=models.log.name):
        assert mapper.map("RENDERING_ON_GPU") is JobStatus.UNKNOWN
    assert [record.getMessage() for record in caplog.records] == [
        "edge-api-warn sent the status 'RENDERING_ON_GPU', which this provider does not know; treating the job as "
        "still running. If it means the job ended, map it with status_overrides={'RENDERING_ON_GPU': 'succeeded' "
        "or 'failed'}."
    ]


def test_an_xcom_of_another_schema_says_to_upgrade_every_worker() -> None:
    upgrade = re.escape("Upgrade airflow-provider-vidjobs on every worker to the same version.") + "$"
    with pytest.raises(ValueError, match=upgrade):
        VideoJob.from_xcom({"schema_version": 999, "provider": "x", "job_id": "j", "status": "queued"})


def job(**fields: Any) -> VideoJob:
    return VideoJob(provider="edge-api", job_id="j1", status=JobStatus.RUNNING, **fields)


def test_the_xcom_holds_the_web_page_only_when_the_api_gave_one() -> None:
    """An older worker forbids unknown keys: a job without a page must not carry ``web_url: null``."""
    assert "web_url" not in job().to_xcom()
    assert job(web_url="https://vendor.example/p/j1").to_xcom()["web_url"] == "https://vendor.example/p/j1"
