"""Ways to run it: CLI (prints its URL, stops on signals), subprocess handle, thread handle; the
control API's own errors; importing it never imports Airflow."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from importlib.metadata import entry_points

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import (
    ControlError,
    SimulatorConfig,
    SimulatorHandle,
    start_simulator,
    start_simulator_process,
)
from airflow_provider_vidjobs.testing.simulator.cli import build_parser, config_from_args

CLI = [sys.executable, "-m", "airflow_provider_vidjobs.testing.simulator.cli"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_url_and_stops_on_signal(sig: signal.Signals) -> None:
    args = [*CLI, "--host", "127.0.0.1", "--port", "0", "--error-burst", "503:1", "--tensorpix-key", "k1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("vidjobs-simulator listening on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].strip()
        job = httpx.post(f"{url}/_sim/jobs", json={"api": "tensorpix"}, trust_env=False).json()["id"]
        path = f"{url}/api/video-gen/jobs/{job}/"
        assert httpx.get(path, headers={"Authorization": "Token k1"}, trust_env=False).status_code == 503
        assert httpx.get(path, headers={"Authorization": "Token k1"}, trust_env=False).status_code == 200
    finally:
        proc.send_signal(sig)
        code = proc.wait(10)
    assert code in (0, -sig)


def test_console_script_and_pytest_plugin_are_registered() -> None:
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["vidjobs-simulator"] == "airflow_provider_vidjobs.testing.simulator.cli:main"
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["vidjobs_simulator"] == "airflow_provider_vidjobs.testing.pytest_plugin"


def test_cli_rejects_bad_fault() -> None:
    proc = subprocess.run([*CLI, "--fault", '{"kind": "nope"}'], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "fault kind" in proc.stderr


def test_cli_flags_map_to_config() -> None:
    ns = build_parser().parse_args(
        [
            "--time-scale", "10", "--queued-s", "2", "--outcome", "failed", "--latency-s", "0.1",
            "--outage-s", "60", "--rate-limit", "3:5", "--aihubmix-key", "a", "--aihubmix-key", "b",
            "--poll-after-ms", "900", "--aihubmix-id-style", "slashy",
        ]
    )  # fmt: skip
    cfg = config_from_args(ns)
    assert cfg.time_scale == 10
    assert cfg.timeline == {"queued_s": 2.0, "outcome": "failed"}
    assert cfg.aihubmix_keys == ["a", "b"]
    assert cfg.tensorpix_keys == ["sim-tensorpix-key"]
    assert {"kind": "latency", "delay_s": 0.1} in cfg.faults
    assert {"kind": "http_error", "status": 503, "duration_s": 60.0} in cfg.faults
    assert {"kind": "http_error", "status": 429, "count": 3, "retry_after": 5.0} in cfg.faults
    assert cfg.poll_after_ms == 900
    assert cfg.aihubmix_id_style == "slashy"


def test_subprocess_handle_round_trip() -> None:
    config = SimulatorConfig(aihubmix_keys=["sk-proc"], timeline={"queued_s": 0, "running_s": 0}, seed=3)
    with start_simulator_process(config) as sim:
        assert sim.process is not None
        assert sim.process.poll() is None
        assert sim.aihubmix_key == "sk-proc"
        video = httpx.post(
            f"{sim.url}/v1/videos", json={"prompt": "p"}, headers={"Authorization": "Bearer sk-proc"}, trust_env=False
        )
        assert video.json()["status"] == "completed"
        assert sim.control.stats()["endpoints"]["POST /v1/videos"]["requests"] == 1
    assert sim.process.wait(5) is not None


def test_thread_handle_context_manager_and_connections_env() -> None:
    with start_simulator(tensorpix_keys=["tp-1"], port=0) as sim:
        assert sim.control.health()
        env = sim.airflow_connections()
        assert json.loads(env["AIRFLOW_CONN_TENSORPIX_DEFAULT"]) == {
            "conn_type": "tensorpix",
            "host": sim.url,
            "password": "tp-1",
        }
        assert json.loads(env["AIRFLOW_CONN_AIHUBMIX_DEFAULT"])["host"] == sim.url  # root URL, no /v1
        url = sim.url
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/_sim/health", trust_env=False, timeout=2)


def test_control_api_errors(sim: SimulatorHandle, http: httpx.Client) -> None:
    assert http.get("/_sim/nothing").status_code == 404
    with pytest.raises(ControlError, match="unknown fault field"):
        sim.control.add_faults({"kind": "latency", "sleep": 1})
    with pytest.raises(ControlError, match="unknown timeline field"):
        sim.control.create_job("tensorpix", sim={"queue_s": 1})
    with pytest.raises(ControlError, match="api must be one of"):
        sim.control.create_job("runway")
    sim.control.create_job("aihubmix", id="dup")
    with pytest.raises(ControlError, match="already exists"):
        sim.control.create_job("aihubmix", id="dup")
    with pytest.raises(ControlError, match="no job"):
        sim.control.update_job("ghost", outcome="failed")
    with pytest.raises(ControlError, match="Must be a valid UUID"):
        sim.control.create_job("tensorpix", id="not-a-uuid")
    assert http.post("/_sim/jobs", content=b"{oops").status_code == 400


def test_fixture_resets_state_between_tests_part_one(sim: SimulatorHandle) -> None:
    sim.control.create_job("tensorpix", id="3c90c3cc-0d44-4b50-8888-8dd25736052a")
    sim.control.add_faults({"kind": "latency", "delay_s": 0.01})
    sim.control.revoke_key("tensorpix")


def test_fixture_resets_state_between_tests_part_two(sim: SimulatorHandle) -> None:
    assert sim.control.jobs() == []
    assert sim.control.faults() == []
    assert sim.control.keys()["tensorpix"] == ["sim-tensorpix-key"]
    assert sim.control.stats()["requests_total"] == 0


def test_import_does_not_import_airflow() -> None:
    code = (
        "import sys, airflow_provider_vidjobs.testing.simulator as s, airflow_provider_vidjobs.testing.pytest_plugin;"
        "assert s.SimulatorConfig; bad = [m for m in ('airflow', 'uvicorn', 'starlette') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
