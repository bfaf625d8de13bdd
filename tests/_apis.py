"""The APIs every contract test runs over: each package API (``hooks.registry.HOOKS``) paired, by its
connection type, with its simulator module (``testing.simulator.apis.APIS``).

The per-API facts a test needs (the job and asset endpoints, the vendor example document, the fields of
a test job) live on the simulator module's ``ContractFacts``, so registering an API in both tables is all
it takes for the whole suite to run over it. ``tests/testing/test_registries.py`` checks both tables agree.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from airflow_provider_vidjobs.hooks.registry import HOOKS, ApiSpec
from airflow_provider_vidjobs.testing.simulator.apis import APIS as SIM_APIS
from airflow_provider_vidjobs.testing.simulator.spec import ContractFacts, SimApi

FIXTURES = Path(__file__).parent / "fixtures"


@dataclasses.dataclass(frozen=True)
class ContractApi:
    """One registered API as the tests see it: the package's spec and the simulator's."""

    name: str
    package: ApiSpec
    sim: SimApi

    @property
    def conn_id(self) -> str:
        """The default connection id (``<conn type>_default``)."""
        return f"{self.name}_default"

    @property
    def facts(self) -> ContractFacts:
        """Everything the simulator module tells the tests about this API."""
        return self.sim.contract

    @property
    def job_endpoint(self) -> str:
        """The simulator's endpoint a wait polls."""
        return self.sim.contract.job_endpoint

    @property
    def asset_endpoint(self) -> str:
        """The simulator's endpoint the video bytes come from."""
        return self.sim.contract.asset_endpoint

    @property
    def fixture(self) -> str:
        """The vendor example document in ``tests/fixtures``."""
        return self.sim.contract.fixture

    def example(self) -> dict[str, Any]:
        """A fresh copy of the vendor example document, carrying the API's ``sample_id``."""
        doc: dict[str, Any] = json.loads((FIXTURES / self.fixture).read_text())
        return {**doc, "id": self.facts.sample_id}

    def vendor_prompt(self, job_json: dict[str, Any]) -> Any:
        """The prompt in a job JSON of this API, at its ``prompt_field`` (a missing key is a ``KeyError``)."""
        value: Any = job_json
        for key in self.facts.prompt_field.split("."):
            value = value[key]
        return value

    @property
    def job_fields(self) -> dict[str, Any]:
        """Extra control-API fields for a test job of this API."""
        return dict(self.sim.contract.job_fields)


#: Every API both tables register, in the package table's order.
CONTRACT_APIS: dict[str, ContractApi] = {
    name: ContractApi(name, spec, SIM_APIS[name]) for name, spec in HOOKS.items() if name in SIM_APIS
}
#: Their names (connection types): what the contract tests are parametrized over.
API_NAMES: tuple[str, ...] = tuple(CONTRACT_APIS)


def contract_api(name: str) -> ContractApi:
    """The facts of one registered API."""
    return CONTRACT_APIS[name]


def with_presigned_storage() -> tuple[str, ...]:
    """The APIs whose videos come from pre-signed storage URLs (expiry, storage errors)."""
    return tuple(name for name, api in CONTRACT_APIS.items() if api.facts.presigned_storage)
