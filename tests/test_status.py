"""Status mapping: the common spellings in any case, unknown -> still running (logged once), overrides."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_vidjobs.models import (
    COMMON_SPELLINGS,
    JobStatus,
    StatusMapper,
    parse_status_overrides,
    status_key,
)

#: Written out by hand (not read from COMMON_SPELLINGS): a word that drops out of the table fails here.
#: A vendor whose terminal word is unknown would be waited on until the task's timeout.
SPELLINGS = {
    JobStatus.QUEUED: ["queued", "pending", "in_queue", "waiting", "created", "submitted", "scheduled"],
    JobStatus.RUNNING: ["processing", "in_progress", "running", "started", "generating", "rendering"],
    JobStatus.SUCCEEDED: ["completed", "complete", "done", "finished", "succeeded", "success", "successful"],
    JobStatus.FAILED: ["failed", "failure", "error", "errored", "expired", "rejected"],
    JobStatus.CANCELLED: ["cancelled", "canceled", "aborted"],
}
CASES = [(raw, status) for status, raws in SPELLINGS.items() for raw in raws]


def variants(raw: str) -> list[str]:
    """The same word as different APIs might write it."""
    spaced = raw.replace("_", " ")
    return [raw, raw.upper(), spaced.title(), raw.replace("_", "-").upper(), f"  {spaced.capitalize()}  "]


@pytest.mark.parametrize(("raw", "status"), CASES)
def test_every_documented_spelling_maps_in_any_case(raw, status, caplog):
    mapper = StatusMapper("tensorpix")
    for spelling in variants(raw):
        assert mapper.map(spelling) is status, spelling
    assert not caplog.records  # known words are never reported as unknown


def test_terminal_meaning_of_the_spellings():
    mapper = StatusMapper("tensorpix")
    assert mapper.map("expired").is_terminal
    assert mapper.map("Aborted").is_terminal
    assert not mapper.map("IN_QUEUE").is_terminal
    assert not mapper.map("Generating").is_terminal


@pytest.mark.parametrize(
    ("raw", "key"),
    [("In Progress", "in_progress"), ("in-progress", "in_progress"), (" IN_QUEUE ", "in_queue"), ("Done", "done")],
)
def test_status_key_normalizes_case_spaces_and_dashes(raw, key):
    assert status_key(raw) == key


@pytest.mark.usefixtures("fresh_status_warnings")
def test_unknown_status_is_still_running_and_logged_once(caplog):
    caplog.set_level(logging.WARNING, logger="airflow_provider_vidjobs.status")
    mapper = StatusMapper("tensorpix")
    results = [mapper.map("Upscaling-Phase-2") for _ in range(3)]
    results.append(StatusMapper("tensorpix").map("Upscaling-Phase-2"))  # a new mapper: still once per process
    assert results == [JobStatus.UNKNOWN] * 4
    assert not JobStatus.UNKNOWN.is_terminal
    warnings = [r for r in caplog.records if r.name == "airflow_provider_vidjobs.status"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "tensorpix" in message
    assert "'Upscaling-Phase-2'" in message
    assert "status_overrides" in message
    assert warnings[0].levelno == logging.WARNING


@pytest.mark.usefixtures("fresh_status_warnings")
def test_unknown_status_is_logged_once_per_provider_and_word(caplog):
    caplog.set_level(logging.WARNING, logger="airflow_provider_vidjobs.status")
    StatusMapper("tensorpix").map("odd")
    StatusMapper("aihubmix").map("odd")
    StatusMapper("tensorpix").map("other")
    StatusMapper("tensorpix").map("odd")
    assert len(caplog.records) == 3


def test_missing_status_is_unknown_without_a_warning(caplog):
    caplog.set_level(logging.WARNING)
    assert StatusMapper("aihubmix").map(None) is JobStatus.UNKNOWN
    assert not caplog.records


def test_overrides_add_words_and_win_over_the_table(caplog):
    mapper = StatusMapper("tensorpix", overrides={"Rendered": "succeeded", "done": "FAILED", "Hold On": " Queued "})
    assert mapper.map("rendered") is JobStatus.SUCCEEDED
    assert mapper.map("DONE") is JobStatus.FAILED  # the caller knows better than the common spellings
    assert mapper.map("hold-on") is JobStatus.QUEUED
    assert mapper.map("completed") is JobStatus.SUCCEEDED  # the rest of the table is untouched
    assert not caplog.records


def test_overrides_do_not_leak_into_other_mappers():
    StatusMapper("tensorpix", overrides={"done": "failed"})
    assert StatusMapper("tensorpix").map("done") is JobStatus.SUCCEEDED
    assert COMMON_SPELLINGS["done"] is JobStatus.SUCCEEDED


@pytest.mark.parametrize("target", ["done", "complete", "", "SUCCESS"])
def test_override_to_something_that_is_not_a_status_fails_clearly(target):
    with pytest.raises(ValueError, match="status_overrides") as info:
        StatusMapper("tensorpix", overrides={"Rendered": target})
    message = str(info.value)
    assert "'Rendered'" in message
    assert repr(target) in message
    for status in JobStatus:
        assert status.value in message  # says what is allowed


def test_overrides_must_be_a_mapping():
    with pytest.raises(TypeError, match="status_overrides must be a dict"):
        parse_status_overrides(["done", "failed"])  # type: ignore[arg-type]


def test_empty_overrides_are_nothing():
    assert parse_status_overrides(None) == {}
    assert parse_status_overrides({}) == {}


def test_hooks_with_the_same_overrides_share_one_mapper() -> None:
    from airflow_provider_vidjobs.models import shared_status_mapper

    first = shared_status_mapper("tensorpix", COMMON_SPELLINGS, {"Rendered": "succeeded"})
    again = shared_status_mapper("tensorpix", COMMON_SPELLINGS, {"Rendered": "succeeded"})
    other = shared_status_mapper("tensorpix", COMMON_SPELLINGS, {"Rendered": "failed"})

    assert first is again
    assert other is not first
    assert (first.map("rendered"), other.map("rendered")) == (JobStatus.SUCCEEDED, JobStatus.FAILED)
    assert shared_status_mapper("aihubmix", COMMON_SPELLINGS) is not shared_status_mapper("tensorpix", COMMON_SPELLINGS)


def test_shared_mappers_still_refuse_bad_overrides() -> None:
    from airflow_provider_vidjobs.models import shared_status_mapper

    with pytest.raises(TypeError, match="status_overrides must be a dict"):
        shared_status_mapper("tensorpix", COMMON_SPELLINGS, ["done"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a job status"):
        shared_status_mapper("tensorpix", COMMON_SPELLINGS, {"done": "finished-ish"})
