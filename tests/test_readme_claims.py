"""The README's checkable claims: each test fails when the README and the code it describes drift apart.

What is checked: the polling numbers and defaults it states, the simulator's sample output (what the
CLI prints, for the same flags), the commands and flags it names, the connection extras and their
defaults, the demo's env var names and DAG list, the connection-test messages, and that its Markdown
code fences are whole. The API table and the hook list are generated (tests/test_docs_tables.py).
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

from airflow_provider_vidjobs.hooks.registry import HOOKS
from airflow_provider_vidjobs.http.settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, EXTRA_FIELDS
from airflow_provider_vidjobs.polling import PollPolicy
from airflow_provider_vidjobs.retry import RetryPolicy
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor
from airflow_provider_vidjobs.testing.simulator import apis
from airflow_provider_vidjobs.testing.simulator.cli import build_parser, config_from_args, startup_lines
from airflow_provider_vidjobs.testing.simulator.server import READY_PREFIX

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE_DAGS = ROOT / "example_dags"


def section(title: str) -> str:
    """The README's text under a ``## title`` heading, up to the next ``## `` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def sensor_default(name: str) -> object:
    return inspect.signature(VideoJobSensor.__init__).parameters[name].default


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vidjobs_demo_claims", EXAMPLE_DAGS / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ----- Markdown -----------------------------------------------------------------------------------


def test_code_fences_are_whole_lines_and_balanced() -> None:
    """A fence closed inside a line (```` ``` In pytest... ````) turned the prose after it into code."""
    fences = [line for line in README.splitlines() if line.lstrip().startswith("```")]
    assert len(fences) % 2 == 0, "an unclosed code fence"
    for number, line in enumerate(README.splitlines(), 1):
        if "```" in line:
            assert line.lstrip().startswith("```"), f"README.md:{number}: a fence inside a line: {line!r}"
            assert re.fullmatch(r"\s*```[a-z]*\s*", line), f"README.md:{number}: text after a fence: {line!r}"


# ----- Polling --------------------------------------------------------------------------------------


def test_the_polling_numbers_are_the_policys() -> None:
    policy, text = PollPolicy(), " ".join(section("Waiting, polling and failures").split())
    assert f"comes after {policy.eta_fraction:g} of the estimated time left (`eta_fraction`)" in text
    assert f"grows {policy.growth:g}x per poll (`growth`)" in text
    assert f"shortened by a random 0-{policy.jitter:.0%} (`jitter`)" in text
    assert f"[`poll_interval`, default {sensor_default('poll_interval'):g} s]" in text
    assert f"[`max_poll_interval`, default {sensor_default('max_poll_interval'):g} s]" in text
    assert f"`failure_budget` seconds (default {sensor_default('failure_budget'):g})" in text


# ----- Connections ----------------------------------------------------------------------------------


def test_the_extras_and_their_defaults_are_the_ones_the_hooks_read() -> None:
    text = " ".join(section("Connections").split())
    listed = re.search(r"Connection extras \(all optional\): (.*?)\*\*Proxies", text)
    assert listed is not None
    named = re.findall(r"`([a-z_]+)` \(", listed.group(1))
    assert named == list(EXTRA_FIELDS)
    assert f"`timeout` (s, default {DEFAULT_TIMEOUT:g})" in text
    assert f"`connect_timeout` (s, default {DEFAULT_CONNECT_TIMEOUT:g})" in text
    assert f"default {RetryPolicy().max_attempts})" in listed.group(1)


def test_the_connection_test_messages_are_the_hooks() -> None:
    from airflow_provider_vidjobs.hooks import base

    source = inspect.getsource(base.VideoJobHook.test_connection)
    text = " ".join(section("Connections").split())
    for readme, code in (
        ("`Works: ", 'f"Works: '),
        ("`Key rejected by ", 'f"Key rejected by '),
        ("`Host unreachable: ", '"Host unreachable: '),
    ):
        assert readme in text
        assert code in source, code


def test_the_named_commands_exist() -> None:
    from airflow_provider_vidjobs import check_connection

    assert "python -m airflow_provider_vidjobs.check_connection tensorpix_default" in README
    assert check_connection.main.__module__ == "airflow_provider_vidjobs.check_connection"
    assert "python tools/docs_tables.py" in (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert (ROOT / "tools" / "docs_tables.py").is_file()


def test_every_conn_type_and_env_var_in_the_readmes_commands_is_real(demo: ModuleType) -> None:
    """`airflow connections add` lines name registered types, and the same key variables as the demo's hint."""
    lines = [line for line in README.splitlines() if line.startswith("airflow connections add")]
    assert lines
    key_vars = set()
    for line in lines:
        words = shlex.split(line.rstrip("\\"), posix=False)
        assert words[words.index("--conn-type") + 1] in HOOKS, line
        assert words[3].removesuffix("_default") in HOOKS, line
        key_vars.add(words[words.index("--conn-password") + 1].strip('"'))
    hinted = set(re.findall(r'--conn-password "(\$[A-Z_]+)"', demo.REAL_APIS))
    assert hinted == key_vars == {"$TENSORPIX_API_KEY", "$AIHUBMIX_API_KEY", "$REPLICATE_API_TOKEN"}


# ----- The simulator --------------------------------------------------------------------------------


def test_the_simulators_sample_output_is_what_it_prints() -> None:
    block = README.split("<!-- simulator-output:start", 1)[1].split("<!-- simulator-output:end -->", 1)[0]
    lines = block.split("```console\n", 1)[1].split("\n```", 1)[0].splitlines()
    command, shown = lines[0], lines[1:]
    assert command.startswith("$ vidjobs-simulator ")
    args = shlex.split(command.removeprefix("$ vidjobs-simulator "))
    ns = build_parser().parse_args(args)
    url = f"http://{ns.host}:{ns.port}"
    assert shown == [f"{READY_PREFIX}{url}", *startup_lines(url, config_from_args(ns))]


def test_the_simulators_keys_and_flags_are_its_own() -> None:
    text = " ".join(section("The simulator").split())
    flags = {option for action in build_parser()._actions for option in action.option_strings}
    for flag in re.findall(r"`(--[a-z-]+)", text):
        assert flag in flags, flag
    for sim_api in apis.APIS.values():
        assert f"`--{sim_api.name}-key`" in text, sim_api.name
        assert f"`{sim_api.default_key}` ({sim_api.label})" in text, sim_api.name


# ----- The demo -------------------------------------------------------------------------------------


def test_the_demo_section_names_every_example_dag_and_flag(demo: ModuleType) -> None:
    text = section("The demo and the example DAGs")
    dag_ids = sorted(
        match
        for path in EXAMPLE_DAGS.glob("*.py")
        if path.name != "demo.py"
        for match in re.findall(r'dag_id="([a-z_]+)"', path.read_text(encoding="utf-8"))
    )
    assert sorted(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE)) == dag_ids
    demo_source = (EXAMPLE_DAGS / "demo.py").read_text(encoding="utf-8")
    for dag_id in dag_ids:  # the demo runs every example DAG
        assert f"def {dag_id}(self, step: int)" in demo_source, dag_id
        assert f"self.{dag_id}(step=" in demo_source, dag_id
    for flag in re.findall(r"`(--[a-z-]+)`", text):
        assert f'"{flag}"' in demo_source, flag
    for spec in HOOKS.values():  # "points tensorpix_default, ... at it"
        assert f"`{spec.default_conn_name}`" in text
    # Task logs go to each step's log file; Airflow's own log folder (empty) stays out of demo-output/.
    assert '"AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs")' in demo_source


def test_the_demo_empties_all_of_its_output(demo: ModuleType, tmp_path: Path) -> None:
    """ "`demo-output/` holds the latest run only (all of it is emptied first)"."""
    assert "(all of it is emptied first)" in README
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "file.txt").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    run = demo.Demo(tmp_path)
    try:
        run.prepare_output()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "videos"]
    finally:
        run.cleanup()
