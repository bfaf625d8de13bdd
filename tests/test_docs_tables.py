"""The README's generated parts (tools/docs_tables.py): this fails when one drifts from the code."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from airflow_provider_vidjobs.hooks.registry import HOOKS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _load_tool() -> ModuleType:
    """The maintainer tool, by path: it is not part of the package (nor of the wheel)."""
    spec = importlib.util.spec_from_file_location("vidjobs_docs_tables", ROOT / "tools" / "docs_tables.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_tables = _load_tool()


def test_readme_generated_parts_match_the_registry():
    text = README.read_text(encoding="utf-8")
    assert docs_tables.render(text) == text, (
        "README.md's generated parts differ from hooks/registry.HOOKS or pyproject's [project.urls]; "
        "run `python tools/docs_tables.py`"
    )


def test_the_table_names_every_registered_api():
    table = docs_tables.api_table()
    for spec in HOOKS.values():
        assert f"`{spec.conn_type}`" in table
        assert f"`{spec.default_conn_name}`" in table
        assert spec.default_base_url in table
        assert f"`Authorization: {spec.auth_scheme} <key>`" in table


def test_the_hook_list_names_every_registered_hook():
    for spec in HOOKS.values():
        assert f"`{spec.hook.partition(':')[2]}`" in docs_tables.hook_list()


def test_render_refuses_a_text_without_markers():
    with pytest.raises(ValueError, match="markers"):
        docs_tables.render("no table here", base="https://example.org/r")


def test_links_to_repository_files_become_absolute_and_exist():
    base = docs_tables.source_url()
    text = "[a](docs/simulator.md#x) [b](#performance) [c](https://example.org/x)"
    assert docs_tables.absolute_links(text, base) == (
        f"[a]({base}/blob/main/docs/simulator.md#x) [b]({base}#performance) [c](https://example.org/x)"
    )
    # Every repository link of the README names a file that exists (the package index page follows them).
    targets = re.findall(re.escape(base) + r"/blob/main/([^)#\s]+)", README.read_text(encoding="utf-8"))
    assert targets
    for target in targets:
        assert (ROOT / target).is_file(), target


def test_the_tool_has_a_working_help_and_check():
    tool = str(ROOT / "tools" / "docs_tables.py")
    shown = subprocess.run([sys.executable, tool, "--help"], capture_output=True, text=True, check=True)
    assert "--check" in shown.stdout
    subprocess.run([sys.executable, tool, "--check"], check=True)


def test_the_tool_is_not_in_the_package():
    """A maintainer's tool: the wheel holds the package directory only."""
    assert not list((ROOT / "airflow_provider_vidjobs").rglob("docs_tables*"))
