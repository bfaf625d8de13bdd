"""The README's API table is generated from the registry: this fails when one drifts from the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_vidjobs import docs_tables
from airflow_provider_vidjobs.hooks.registry import HOOKS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_table_matches_the_registry():
    text = README.read_text(encoding="utf-8")
    assert docs_tables.render(text) == text, (
        "README.md's API table differs from hooks/registry.HOOKS; run "
        "`python -m airflow_provider_vidjobs.docs_tables README.md`"
    )


def test_the_table_names_every_registered_api():
    table = docs_tables.api_table()
    for spec in HOOKS.values():
        assert f"`{spec.conn_type}`" in table
        assert f"`{spec.default_conn_name}`" in table
        assert spec.default_base_url in table
        assert f"`Authorization: {spec.auth_scheme} <key>`" in table


def test_render_refuses_a_text_without_markers():
    with pytest.raises(ValueError, match="markers"):
        docs_tables.render("no table here")
