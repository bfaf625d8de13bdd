"""The table of simulated APIs: one module per API, one line each here. The core reads only this table.

Each module defines ``SPEC`` (a ``SimApi``) whose ``name`` is the connection type of the package API it
simulates (``hooks.registry.HOOKS``); a test checks that both tables list the same APIs.
"""

from __future__ import annotations

from typing import Final

from airflow_provider_vidjobs.testing.simulator.apis import aihubmix, replicate, tensorpix
from airflow_provider_vidjobs.testing.simulator.spec import ApiOption, SimApi

#: API name (connection type) -> its simulator module's spec. One line per API.
APIS: Final[dict[str, SimApi]] = {spec.name: spec for spec in (tensorpix.SPEC, aihubmix.SPEC, replicate.SPEC)}


def get(name: str) -> SimApi:
    """The spec of a registered API, or ``ValueError`` naming the registered ones."""
    try:
        return APIS[name]
    except KeyError:
        raise ValueError(f"api must be one of {tuple(APIS)}") from None


def options() -> dict[str, ApiOption]:
    """Every API's options by name (they share one namespace: config keywords, CLI flags)."""
    return {opt.name: opt for spec in APIS.values() for opt in spec.options}
