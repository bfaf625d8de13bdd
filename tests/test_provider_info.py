"""What Airflow's providers manager reads: package metadata and the two connection types."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from airflow_provider_vidjobs import __version__
from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class
from airflow_provider_vidjobs.provider_info import get_provider_info

EXPECTED = {
    "tensorpix": {
        "class": "airflow_provider_vidjobs.hooks.tensorpix.TensorPixHook",
        "default_conn_name": "tensorpix_default",
        "base_url": "https://backend.tensorpix.ai",
        "key_placeholder": "Your TensorPix API key",
    },
    "aihubmix": {
        "class": "airflow_provider_vidjobs.hooks.aihubmix.AIHubMixHook",
        "default_conn_name": "aihubmix_default",
        "base_url": "https://aihubmix.com",
        "key_placeholder": "Your AIHubMix API key",
    },
}


def connection_types() -> dict[str, dict]:
    return {c["connection-type"]: c for c in get_provider_info()["connection-types"]}


def import_class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_package_metadata():
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-vidjobs"
    assert info["name"]
    assert "TensorPix" in info["name"]
    assert "AIHubMix" in info["name"]
    assert info["description"]
    assert info["versions"] == [__version__]


def test_provider_info_is_valid_for_airflow():
    from airflow.providers_manager import (
        _create_customized_form_field_behaviours_schema_validator,
        _create_provider_info_schema_validator,
    )

    info = get_provider_info()
    _create_provider_info_schema_validator().validate(info)
    behaviours = _create_customized_form_field_behaviours_schema_validator()
    for conn in info["connection-types"]:
        ui = conn["ui-field-behaviour"]
        behaviours.validate(
            {"hidden_fields": ui["hidden-fields"], "relabeling": ui["relabeling"], "placeholders": ui["placeholders"]}
        )
    json.dumps(info)  # plain data only


def test_both_connection_types_are_registered():
    assert set(connection_types()) >= set(EXPECTED)


@pytest.mark.parametrize("conn_type", sorted(EXPECTED))
def test_hook_class_name_imports_to_the_matching_hook(conn_type):
    conn = connection_types()[conn_type]
    expected = EXPECTED[conn_type]
    assert conn["hook-class-name"] == expected["class"]
    cls = import_class(conn["hook-class-name"])
    assert cls.conn_type == conn_type
    assert cls.hook_name == conn["hook-name"]
    assert cls.default_conn_name == expected["default_conn_name"]
    assert cls.default_base_url == expected["base_url"]
    assert cls.conn_name_attr == "conn_id"
    hook = cls(**{cls.conn_name_attr: "some_conn"})  # how Airflow builds a hook for "Test connection"
    assert hook.conn_id == "some_conn"
    assert cls().conn_id == expected["default_conn_name"]


@pytest.mark.parametrize("conn_type", sorted(EXPECTED))
def test_connection_form(conn_type):
    conn = connection_types()[conn_type]
    ui = conn["ui-field-behaviour"]
    assert ui["relabeling"]["password"] == "API key"
    assert ui["relabeling"]["host"] == "Base URL"
    assert ui["placeholders"]["host"] == EXPECTED[conn_type]["base_url"]
    assert ui["placeholders"]["password"] == EXPECTED[conn_type]["key_placeholder"]
    assert ui["hidden-fields"] == ["schema", "login"]  # Port shown: Airflow 3.3's Test button needs one saved
    assert "Test" in ui["placeholders"]["port"]
    assert "password" not in ui["hidden-fields"]
    assert "host" not in ui["hidden-fields"]
    fields = conn["conn-fields"]
    for name in ("timeout", "connect_timeout", "verify", "ca_bundle", "proxy", "max_attempts"):
        assert fields[name]["label"]
        assert fields[name]["schema"]["type"]
    # No prefilled defaults (the form would store them as if set); the description states each default.
    for name in ("timeout", "connect_timeout", "max_attempts"):
        assert "default" not in fields[name]["schema"]
        assert "null" in fields[name]["schema"]["type"]
    assert "(default 30)" in fields["timeout"]["description"]
    assert "(default 10)" in fields["connect_timeout"]["description"]
    assert "(default 4)" in fields["max_attempts"]["description"]
    assert fields["verify"]["schema"]["default"] is True  # a checkbox cannot show "unset"


def test_extra_fields_are_the_ones_the_settings_read():
    from airflow_provider_vidjobs.http.settings import EXTRA_FIELDS

    for conn in connection_types().values():
        assert set(conn["conn-fields"]) == set(EXTRA_FIELDS)


def test_listed_hook_modules_import():
    (entry,) = get_provider_info()["hooks"]
    for module in entry["python-modules"]:
        importlib.import_module(module)
    assert {m.rsplit(".", 1)[1] for m in entry["python-modules"]} >= set(EXPECTED)


def test_entry_point_points_at_get_provider_info():
    from importlib.metadata import entry_points

    ours = [e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("airflow_provider_vidjobs")]
    (entry,) = ours
    assert entry.load() is get_provider_info


def test_provider_info_imports_neither_airflow_nor_httpx():
    code = (
        "import json, sys\n"
        "from airflow_provider_vidjobs.provider_info import get_provider_info\n"
        "info = get_provider_info()\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'httpx', 'pydantic'))\n"
        "hooks = sorted(m for m in sys.modules if m.startswith('airflow_provider_vidjobs.hooks.')"
        " and m != 'airflow_provider_vidjobs.hooks.registry')\n"
        "print(json.dumps({'heavy': heavy, 'hooks': hooks, 'types': len(info['connection-types'])}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "hooks": [], "types": len(connection_types())}


@pytest.mark.parametrize("conn_type", sorted(EXPECTED))
def test_the_form_airflows_ui_builds_hides_what_we_list_and_extra_is_not_listed(conn_type):
    """The UI's form comes from the hook metadata endpoint: it can hide only the standard fields, never
    'extra' (its "Extra Fields JSON" section is always shown), so 'extra' must not be listed as hidden."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    ui = connection_types()[conn_type]["ui-field-behaviour"]
    behaviour = {
        "hidden_fields": ui["hidden-fields"],
        "relabeling": ui["relabeling"],
        "placeholders": ui["placeholders"],
    }
    form = HookMetaService._make_standard_fields(behaviour)
    assert "extra" not in type(form).model_fields  # what the UI can hide at all
    shown = {name: getattr(form, "url_schema" if name == "schema" else name) for name in ui["hidden-fields"]}
    assert all(field.hidden for field in shown.values())
    assert form.password.title == "API key"
    assert form.password.placeholder == EXPECTED[conn_type]["key_placeholder"]
    assert form.host.title == "Base URL"
    assert form.host.hidden is False


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_provider_info_hook_class_and_registry_agree(conn_type):
    """One table: every registry entry's values reach provider info and the hook class unchanged."""
    spec = HOOKS[conn_type]
    conn = connection_types()[conn_type]
    assert conn["hook-class-name"] == spec.hook_class_name
    assert conn["hook-name"] == spec.hook_name
    assert conn["ui-field-behaviour"]["placeholders"] == {
        "host": spec.default_base_url,
        "password": f"Your {spec.vendor} API key",
        "port": "443 (set it to use the Test button on Airflow 3.3)",
    }
    (hooks,) = get_provider_info()["hooks"]
    assert spec.hook_module in hooks["python-modules"]
    cls = hook_class(conn_type)
    assert cls is import_class(spec.hook_class_name)
    assert cls.api_spec is spec
    assert (cls.conn_type, cls.provider, cls.hook_name) == (spec.conn_type, spec.conn_type, spec.hook_name)
    assert (cls.default_conn_name, cls.conn_name_attr) == (spec.default_conn_name, spec.conn_name_attr)
    assert (cls.default_base_url, cls.auth_scheme) == (spec.default_base_url, spec.auth_scheme)


def test_provider_info_lists_exactly_the_registered_hook_modules():
    (hooks,) = get_provider_info()["hooks"]
    assert hooks["python-modules"] == list(dict.fromkeys(spec.hook_module for spec in HOOKS.values()))
