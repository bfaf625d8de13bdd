"""What ``vidjobs-simulator`` prints at start: its URL first, then the keys and connections a new user needs."""

from __future__ import annotations

import json
import queue
import shlex
import signal
import subprocess
import sys
import threading

import httpx

from airflow_provider_vidjobs.testing.simulator import apis

#: One key line and one connection line per registered API (the table's order: TensorPix first).
N = len(apis.APIS)
CLI = [sys.executable, "-m", "airflow_provider_vidjobs.testing.simulator.cli", "--host", "127.0.0.1", "--port", "0"]


def first_lines(proc: subprocess.Popen[str], count: int = 2 + 2 * N, timeout_s: float = 30.0) -> list[str]:
    """The first ``count`` lines the process prints, or fewer if it prints no more within the timeout."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in stdout], daemon=True).start()
    out: list[str] = []
    try:
        while len(out) < count:
            out.append(lines.get(timeout=timeout_s if not out else 5.0))
    except queue.Empty:
        pass
    return out


def start_up_output(*args: str) -> list[str]:
    """Run the real CLI, read what it prints until the connection lines, then stop it."""
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, text=True)
    try:
        lines = first_lines(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert len(lines) == 2 + 2 * N, lines
    return lines


def test_start_up_prints_the_url_then_the_keys_and_ready_connection_lines() -> None:
    lines = start_up_output()
    assert lines[0].startswith("vidjobs-simulator listening on http://127.0.0.1:")
    url = lines[0].split(" on ", 1)[1]
    assert lines[1] == "  TensorPix API key: sim-tensorpix-key"
    assert lines[2] == "  AIHubMix API key:  sk-sim-aihubmix-key"
    assert "triggerer" in lines[1 + N]
    exports = {}
    for line in lines[2 + N :]:
        (name_value,) = shlex.split(line.removeprefix("export "))  # one shell word: pastes as it is
        name, _, value = name_value.partition("=")
        exports[name] = json.loads(value)
    assert exports == {
        f"AIRFLOW_CONN_{name.upper()}_DEFAULT": {"conn_type": name, "host": url, "password": spec.default_key}
        for name, spec in apis.APIS.items()
    }
    assert exports["AIRFLOW_CONN_TENSORPIX_DEFAULT"]["password"] == "sim-tensorpix-key"
    assert exports["AIRFLOW_CONN_AIHUBMIX_DEFAULT"]["password"] == "sk-sim-aihubmix-key"


def test_the_printed_keys_are_the_ones_it_accepts() -> None:
    lines = start_up_output("--tensorpix-key", "k1", "--tensorpix-key", "k2", "--no-aihubmix-keys")
    assert lines[1] == "  TensorPix API key: k1, k2"
    assert lines[2] == "  AIHubMix API key:  (none: every key is rejected)"
    assert '"password": "k1"' in lines[2 + N]


def test_the_printed_connection_works_against_the_simulator() -> None:
    proc = subprocess.Popen(CLI, stdout=subprocess.PIPE, text=True)
    try:
        lines = first_lines(proc)
        assert len(lines) == 2 + 2 * N, lines
        (word,) = shlex.split(lines[2 + N].removeprefix("export "))
        conn = json.loads(word.partition("=")[2])
        job = httpx.post(f"{conn['host']}/_sim/jobs", json={"api": "tensorpix"}, trust_env=False).json()["id"]
        answer = httpx.get(
            f"{conn['host']}/api/video-gen/jobs/{job}/",
            headers={"Authorization": f"Token {conn['password']}"},
            trust_env=False,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert answer.status_code == 200
    assert answer.json()["id"] == job
