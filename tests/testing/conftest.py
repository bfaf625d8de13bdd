"""Helpers for the simulator's own tests. The ``vidjobs_simulator`` fixture comes from the package's
pytest plugin (one server per session, reset before each test)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

#: A quick timeline: queued 0.05 s, running 0.2 s.
FAST = {"queued_s": 0.05, "running_s": 0.2}


@pytest.fixture
def sim(vidjobs_simulator: SimulatorHandle) -> SimulatorHandle:
    return vidjobs_simulator


@pytest.fixture
def http(sim: SimulatorHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, trust_env=False, timeout=10) as client:
        yield client


def tp_auth(sim: SimulatorHandle) -> dict[str, str]:
    return {"Authorization": f"Token {sim.tensorpix_key}"}


def ah_auth(sim: SimulatorHandle) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.aihubmix_key}"}


def tp_job_path(job_id: str) -> str:
    return f"/api/video-gen/jobs/{job_id}/"


def ah_video_path(video_id: str, suffix: str = "") -> str:
    return f"/v1/videos/{quote(video_id, safe='')}{suffix}"


def wait_for(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
