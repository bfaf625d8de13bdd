"""``python -m airflow_provider_vidjobs.check_connection``: our test message on the command line, either way."""

from __future__ import annotations

import json

import pytest

from airflow_provider_vidjobs import check_connection
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle


@pytest.fixture
def sim(vidjobs_simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SimulatorHandle:
    monkeypatch.delenv("_AIRFLOW_PROCESS_CONTEXT", raising=False)  # main() sets it; undone after the test
    for name, value in vidjobs_simulator.airflow_connections().items():
        monkeypatch.setenv(name, value)
    return vidjobs_simulator


def test_a_working_key_prints_works(sim: SimulatorHandle, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_connection.main(["tensorpix_default"]) == 0
    assert capsys.readouterr().out.startswith("Works: ")


def test_a_rejected_key_prints_the_apis_words_and_fails(
    sim: SimulatorHandle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = json.loads(sim.airflow_connections()["AIRFLOW_CONN_AIHUBMIX_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_AIHUBMIX_WRONG", json.dumps({**conn, "password": "sk-not-the-key"}))
    assert check_connection.main(["aihubmix_wrong"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Key rejected by ")
    assert "sk-not-the-key" not in out


def test_help_names_the_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        check_connection.main(["--help"])
    assert exit_.value.code == 0
    assert "conn_id" in capsys.readouterr().out
