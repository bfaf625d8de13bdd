"""The simulator's plug-in contract: its API table agrees with the package's, its core names no API, and
requests go to the API whose registered prefix is the longest match."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import httpx
import pytest

from airflow_provider_vidjobs.hooks.registry import HOOKS
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle, apis
from airflow_provider_vidjobs.testing.simulator.routing import PrefixTable
from airflow_provider_vidjobs.testing.simulator.spec import SimApi

SIMULATOR = Path(apis.__file__).resolve().parents[1]
#: The vendor-neutral core: every module of the simulator package outside ``apis/`` except the facade
#: ``__init__.py``, which re-exports the default keys under their historical names.
CORE = sorted(p for p in SIMULATOR.glob("*.py") if p.name != "__init__.py")


def test_every_package_api_has_a_simulator_module_and_vice_versa() -> None:
    assert set(apis.APIS) == set(HOOKS), "register an API in hooks/registry.py AND testing/simulator/apis/"
    for name, spec in apis.APIS.items():
        assert isinstance(spec, SimApi)
        assert spec.name == name == HOOKS[name].conn_type


def test_each_api_module_exports_its_spec_as_spec() -> None:
    for spec in apis.APIS.values():
        module = spec.route.__module__
        assert module.startswith(apis.__name__ + "."), f"{spec.name}: its routes live outside apis/"
        assert importlib.import_module(module).SPEC is spec


def _vendor_words() -> list[str]:
    """Each registered API's name and label (``tensorpix``, ``TensorPix`` ...), as whole words."""
    words = {spec.name for spec in apis.APIS.values()} | {spec.label for spec in apis.APIS.values()}
    return sorted(words)


@pytest.mark.parametrize("module", CORE, ids=lambda p: p.name)
def test_the_core_names_no_vendor(module: Path) -> None:
    """Vendor specifics belong in the API's module; a core module that names one has grown a special case."""
    text = module.read_text()
    found = [w for w in _vendor_words() if re.search(rf"(?i)(?<![a-z]){re.escape(w)}(?![a-z])", text)]
    assert not found, f"{module.name} names {found}: move that into testing/simulator/apis/<api>.py"


def test_the_core_list_is_what_it_should_be() -> None:
    """The grep above reads the modules it means to (a moved core module must not escape it)."""
    names = {p.name for p in CORE}
    for expected in ("app.py", "clock.py", "config.py", "control_api.py", "faults.py", "state.py", "storage.py"):
        assert expected in names
    assert {"server.py", "cli.py", "timeline.py", "stats.py", "ids.py", "errors.py", "jobs.py"} <= names


def test_the_longest_prefix_wins_segment_by_segment() -> None:
    table = PrefixTable({"/v1": "a", "/v1/predictions": "b", "/api": "c"})
    assert table.match(["v1", "videos", "x"]) == "a"
    assert table.match(["v1", "predictions", "x"]) == "b"
    assert table.match(["v1", "predictionsx"]) == "a"  # a prefix is whole segments
    assert table.match(["v1"]) == "a"
    assert table.match(["v2", "x"]) is None
    assert table.match(["apix"]) is None


def test_prefixes_are_unique_across_apis() -> None:
    seen: dict[str, str] = {}
    for spec in apis.APIS.values():
        for prefix in spec.prefixes:
            assert prefix.startswith("/"), prefix
            assert not prefix.endswith("/"), prefix
            assert prefix not in seen, f"{prefix} registered by {seen.get(prefix)} and {spec.name}"
            seen[prefix] = spec.name


def test_each_api_answers_under_its_prefixes(sim: SimulatorHandle) -> None:
    """An unauthenticated request under each registered prefix reaches that API (its own 401 or 404 shape,
    never the generic text 404 of an unrouted path)."""
    with httpx.Client(base_url=sim.url, trust_env=False, timeout=10) as http:
        unrouted = http.get("/no-api-here/x")
        assert (unrouted.status_code, unrouted.text) == (404, "Not Found")
        for spec in apis.APIS.values():
            for prefix in spec.prefixes:
                reply = http.get(f"{prefix}/vidjobs-no-such-route")
                assert reply.text != "Not Found", (spec.name, prefix)


def test_the_config_knows_each_api_by_name() -> None:
    from airflow_provider_vidjobs.testing.simulator import SimulatorConfig

    cfg = SimulatorConfig(**{f"{name}_keys": [f"k-{name}"] for name in apis.APIS})
    assert cfg.keys == {name: [f"k-{name}"] for name in apis.APIS}
    for name in apis.APIS:
        assert getattr(cfg, f"{name}_keys") == [f"k-{name}"]
    assert SimulatorConfig().keys == {name: [spec.default_key] for name, spec in apis.APIS.items()}
    with pytest.raises(TypeError, match="no_such_api_keys"):
        SimulatorConfig(no_such_api_keys=["x"])  # type: ignore[call-arg]
