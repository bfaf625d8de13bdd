"""Answers lost after the vendor committed a create (issue 22): the job exists and is counted as paid,
while the client saw a reset, a cut body, bad JSON, a proxy's 502/504, nothing at all, or a timeout."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorHandle
from airflow_provider_vidjobs.testing.simulator.apis.replicate import DEFAULT_KEY as REPLICATE_KEY
from airflow_provider_vidjobs.testing.simulator.cli import build_parser, config_from_args
from airflow_provider_vidjobs.testing.simulator.control import ControlError
from airflow_provider_vidjobs.testing.simulator.state import SimState

from .conftest import ah_auth, wait_for

#: Per API: its create endpoint (as fault rules and counters name it), path, body and auth.
CREATES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "aihubmix": ("POST /v1/videos", "/v1/videos", {"prompt": "a fox", "seconds": "4"}),
    "replicate": ("POST /v1/predictions", "/v1/predictions", {"version": "abc", "input": {"prompt": "a fox"}}),
}
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError)


def _auth(sim: SimulatorHandle, api: str) -> dict[str, str]:
    return ah_auth(sim) if api == "aihubmix" else {"Authorization": f"Bearer {REPLICATE_KEY}"}


def _post(sim: SimulatorHandle, http: httpx.Client, api: str, **kwargs: Any) -> httpx.Response:
    _, path, body = CREATES[api]
    return http.post(path, json=body, headers=_auth(sim, api), **kwargs)


def _fault(sim: SimulatorHandle, api: str, rule: dict[str, Any]) -> None:
    sim.control.add_faults({**rule, "endpoint": CREATES[api][0], "count": 1})


def _committed(sim: SimulatorHandle, api: str) -> str:
    """The one job the lost answer made: counted as paid, under its fingerprint, and in the store."""
    creates = sim.control.stats()["creates"]
    assert creates["total"] == 1
    [(fingerprint, count)] = creates["by_fingerprint"].items()
    assert count == 1
    [job_id] = creates["jobs"][fingerprint]
    assert [job["id"] for job in sim.control.jobs(api)] == [job_id]
    return str(job_id)


@pytest.fixture(params=sorted(CREATES))
def api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("after_bytes", [0, 10])
def test_a_reset_after_the_headers(sim: SimulatorHandle, http: httpx.Client, api: str, after_bytes: int) -> None:
    _fault(sim, api, {"kind": "reset", "reset_after_bytes": after_bytes})
    with pytest.raises(BROKEN):
        _post(sim, http, api)
    _committed(sim, api)
    assert sim.control.stats()["faults_fired"] == {"reset": 1}


def test_b_clean_close_mid_body(sim: SimulatorHandle, http: httpx.Client, api: str) -> None:
    _fault(sim, api, {"kind": "reset", "reset_after_bytes": 10, "reset_mode": "fin"})
    with pytest.raises(httpx.RemoteProtocolError):
        _post(sim, http, api)
    _committed(sim, api)


def test_c_truncated_json(sim: SimulatorHandle, http: httpx.Client, api: str) -> None:
    _fault(sim, api, {"kind": "truncated_json"})
    resp = _post(sim, http, api)
    assert resp.status_code in (200, 201)
    with pytest.raises(json.JSONDecodeError):
        resp.json()
    _committed(sim, api)


def test_d_json_without_id(sim: SimulatorHandle, http: httpx.Client, api: str) -> None:
    _fault(sim, api, {"kind": "drift", "remove": ["id"]})
    resp = _post(sim, http, api)
    assert resp.status_code in (200, 201)
    assert "id" not in resp.json()
    assert resp.json()["status"]
    _committed(sim, api)


@pytest.mark.parametrize("status", [502, 504])
def test_e_proxy_error_after_the_upstream_created(
    sim: SimulatorHandle, http: httpx.Client, api: str, status: int
) -> None:
    _fault(sim, api, {"kind": "http_error", "status": status, "after_commit": True})
    resp = _post(sim, http, api)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("text/html")
    assert f"<title>{status} " in resp.text
    assert "nginx" in resp.text
    job_id = _committed(sim, api)
    counted = sim.control.stats()["jobs"][job_id]["endpoints"][CREATES[api][0]]
    assert counted["statuses"] == {str(status): 1}


def test_e_proxy_error_body_can_be_given(sim: SimulatorHandle, http: httpx.Client) -> None:
    _fault(sim, "aihubmix", {"kind": "http_error", "status": 502, "after_commit": True, "body": "upstream gone"})
    resp = _post(sim, http, "aihubmix")
    assert (resp.status_code, resp.text, resp.headers["content-type"]) == (502, "upstream gone", "text/plain")
    _committed(sim, "aihubmix")


def test_an_error_before_commit_creates_nothing(sim: SimulatorHandle, http: httpx.Client, api: str) -> None:
    _fault(sim, api, {"kind": "http_error", "status": 502})
    assert _post(sim, http, api).status_code == 502
    _fault(sim, api, {"kind": "drop", "after_commit": False})
    with pytest.raises(BROKEN):
        _post(sim, http, api)
    assert sim.control.stats()["creates"]["total"] == 0
    assert sim.control.jobs(api) == []


@pytest.mark.parametrize("mode", ["rst", "fin"])
def test_f_nothing_sent_then_the_connection_drops(
    sim: SimulatorHandle, http: httpx.Client, api: str, mode: str
) -> None:
    _fault(sim, api, {"kind": "drop", "reset_mode": mode})
    with pytest.raises(BROKEN):
        _post(sim, http, api)
    job_id = _committed(sim, api)
    stats = sim.control.stats()
    assert stats["faults_fired"] == {"drop": 1}
    assert stats["jobs"][job_id]["statuses"] == {"0": 1}  # counted as "no answer"
    assert _post(sim, http, api).status_code in (200, 201)  # the next request is served normally


def test_g_held_until_the_client_times_out(sim: SimulatorHandle, http: httpx.Client, api: str) -> None:
    _fault(sim, api, {"kind": "drop", "delay_s": 600})
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        _post(sim, http, api, timeout=0.5)
    assert time.monotonic() - start < 5
    _committed(sim, api)
    # The server lets go of the connection once the client has given up (not after 600 s).
    wait_for(lambda: sim.control.stats()["connections"]["api_open"] == 0)


def test_g_a_late_answer_after_commit(sim: SimulatorHandle, http: httpx.Client) -> None:
    _fault(sim, "aihubmix", {"kind": "latency", "delay_s": 1.0, "after_commit": True})
    with pytest.raises(httpx.ReadTimeout):
        _post(sim, http, "aihubmix", timeout=0.3)
    _committed(sim, "aihubmix")


def test_g_a_short_hold_then_a_reset(sim: SimulatorHandle, http: httpx.Client) -> None:
    _fault(sim, "aihubmix", {"kind": "drop", "delay_s": 0.3})
    start = time.monotonic()
    with pytest.raises(BROKEN):
        _post(sim, http, "aihubmix", timeout=5)
    assert time.monotonic() - start >= 0.3
    _committed(sim, "aihubmix")


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "reset", "after_commit": False},
        {"kind": "truncated_json", "after_commit": False},
        {"kind": "drift", "after_commit": True},
        {"kind": "drop", "after_commit": "maybe"},
        {"kind": "dropp"},
    ],
)
def test_bad_rules_are_refused(sim: SimulatorHandle, rule: dict[str, Any]) -> None:
    with pytest.raises(ControlError, match="400"):
        sim.control.add_faults(rule)


def test_new_fields_through_the_control_api_and_the_cli(sim: SimulatorHandle) -> None:
    [rule] = sim.control.add_faults({"kind": "http_error", "status": 504, "after_commit": True})
    assert rule["after_commit"] is True
    ns = build_parser().parse_args(["--fault", '{"kind": "drop", "delay_s": 30, "endpoint": "POST /v1/videos"}'])
    state = SimState(config_from_args(ns))
    [drop] = state.faults.rules
    assert (drop.kind, drop.delay_s, drop.commits) == ("drop", 30.0, True)
