"""The base hook's contract with a vendor module: what it must provide, what it may override, links."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook
from airflow_provider_vidjobs.hooks.base import VideoJobHook
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.links import URL_ATTR, job_link, push_job_link
from airflow_provider_vidjobs.models import JobStatus, VideoJob

MUST = {"status_table", "normalize", "job_path"}


def test_the_must_methods_are_abstract():
    assert set(VideoJobHook.__abstractmethods__) == MUST


def test_a_vendor_hook_missing_a_must_cannot_be_built():
    class Half(VideoJobHook):
        @classmethod
        def status_table(cls) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="abstract"):
        Half()


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_every_registered_hook_provides_the_musts(conn_type):
    cls = hook_class(conn_type)
    assert not getattr(cls, "__abstractmethods__", set())
    assert cls.wire_model is not None
    assert cls.probe_job_id
    assert cls.status_table()


def test_can_cancel_follows_from_overriding_cancel_path():
    assert AIHubMixHook.can_cancel is True
    assert TensorPixHook.can_cancel is False


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("https://gw.example.com", "/v1"),
        ("https://gw.example.com/v1", ""),
        ("https://gw.example.com/v1/", ""),
        ("https://gw.example.com/openai", "/v1"),
    ],
)
def test_the_api_root_rule_accepts_a_host_that_already_ends_with_it(base_url, root):
    assert AIHubMixHook().api_root_for(base_url) == root
    assert TensorPixHook().api_root_for(base_url) == ""


def test_job_path_takes_what_it_needs_as_arguments():
    assert AIHubMixHook().job_path("v/1", "/v1") == "/v1/videos/v%2F1"
    assert AIHubMixHook().job_path("x", "") == "/videos/x"
    assert TensorPixHook().job_path("abc", "") == "/api/video-gen/jobs/abc/"


class _Hook:
    provider = "aihubmix"

    def __init__(self, template: str | None) -> None:
        self.template = template

    def validate_job_id(self, job_id: object) -> str:
        if not job_id:
            raise ValueError("bad id")
        return str(job_id)

    def job_web_url(self, job_id: str) -> str | None:
        return self.template.replace("{job_id}", job_id) if self.template else None


def _job(web_url: str | None) -> VideoJob:
    return VideoJob(provider="aihubmix", job_id="v1", status=JobStatus.SUCCEEDED, web_url=web_url)


def test_the_link_prefers_the_url_the_api_returned():
    hook: Any = _Hook("https://app.example.com/jobs/{job_id}")
    assert job_link(hook, "v1", _job("https://vendor.example/p/v1")) == "https://vendor.example/p/v1"
    assert job_link(hook, "v1", _job(None)) == "https://app.example.com/jobs/v1"
    assert job_link(hook, "v1") == "https://app.example.com/jobs/v1"
    assert job_link(_Hook(None), "v1") == ""  # type: ignore[arg-type]
    assert job_link(hook, "") == ""  # a bad id: the task reports it


def test_push_job_link_gives_the_task_the_preferred_url_and_nothing_when_there_is_none():
    task = SimpleNamespace()
    push_job_link({"task": task}, _Hook(None), "v1", _job(None))  # type: ignore[arg-type]
    assert not hasattr(task, URL_ATTR)  # no URL: nothing for Airflow to store
    push_job_link({"task": task}, _Hook(None), "v1", _job("https://vendor.example/p/v1"))  # type: ignore[arg-type]
    assert getattr(task, URL_ATTR) == "https://vendor.example/p/v1"
    push_job_link({"task": task}, _Hook(None), "v1", _job(None))  # type: ignore[arg-type]
    assert getattr(task, URL_ATTR) == "https://vendor.example/p/v1"  # a URL found earlier stays


def test_web_url_travels_in_the_xcom():
    job = _job("https://vendor.example/p/v1")
    assert VideoJob.from_xcom(job.to_xcom()).web_url == "https://vendor.example/p/v1"


def test_an_xcom_without_a_web_url_keeps_the_older_shape():
    """A job with no page leaves the key out: a worker on an older release (which forbids unknown keys)
    reads what a newer triggerer wrote."""
    xcom = _job(None).to_xcom()
    assert "web_url" not in xcom
    assert VideoJob.from_xcom(xcom).web_url is None
