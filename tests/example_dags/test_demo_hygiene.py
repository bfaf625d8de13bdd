"""The demo's output is one run's own, named for people, and its throwaway Airflow home goes away."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEMO = Path(__file__).resolve().parents[2] / "example_dags" / "demo.py"


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vidjobs_demo_script", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_run_starts_from_an_empty_output_folder(demo: ModuleType, tmp_path: Path) -> None:
    """Videos piled up across runs while the summary listed only the latest run's."""
    old = tmp_path / "videos" / "aihubmix-old.mp4"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an earlier run")
    (tmp_path / "metadata.json").write_text("{}")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "db-migrate.log").write_text("old")
    run = demo.Demo(tmp_path)
    try:
        run.prepare_output()
        assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["logs", "videos"]
    finally:
        run.cleanup()


def test_a_downloaded_file_is_named_by_its_prompt_and_id(demo: ModuleType, tmp_path: Path) -> None:
    opaque = tmp_path / "aihubmix-5fWV19OuBTZ4Uh6PkLTb8491Ys1_SdrYAJjsi_xp7jam1crb04v_oA__.mp4"
    opaque.write_bytes(b"mp4")
    job_id = "5fWV19OuBTZ4Uh6PkLTb8491Ys1/SdrYAJjsi+xp7jam1crb04v/oA=="
    job = {"job_id": job_id, "prompt": "A paper boat drifting down a rainy city street at dusk, cinematic"}
    download = {"path": str(opaque), "bytes": 3, "sha256": "ab", "job_id": job_id}

    named = demo.readable_name(download, job, "aihubmix_generate_and_download")

    expected = tmp_path / "a-paper-boat-drifting-down-a-rainy-city-5fWV19OuBTZ4.mp4"
    assert named["path"] == str(expected)
    assert expected.read_bytes() == b"mp4"
    assert not opaque.exists()
    assert named["dag_id"] == "aihubmix_generate_and_download"
    assert named["prompt"] == job["prompt"]
    assert named["job_id"] == job_id


def test_the_temp_airflow_home_is_removed_unless_kept(demo: ModuleType, tmp_path: Path) -> None:
    removed, kept = demo.Demo(tmp_path / "a"), demo.Demo(tmp_path / "b", keep=True)
    for run in (removed, kept):
        run.home.mkdir(parents=True)
        (run.home / "airflow.db").write_bytes(b"sqlite")
        run.cleanup()
    assert not removed.work.exists()
    assert (kept.home / "airflow.db").is_file()
    kept.keep = False
    kept.cleanup()
    assert not kept.work.exists()
