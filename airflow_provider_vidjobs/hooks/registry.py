"""The ONE table of supported APIs. It imports nothing heavy: Airflow reads it while it is starting up.

Hook class attributes, provider info (connection forms, hook modules) and the README's API table
are all derived from :data:`HOOKS`; adding an API adds one :class:`ApiSpec` line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook


@dataclass(frozen=True)
class ApiSpec:
    """What Airflow's UI, the docs and the hook class need to know of one API, without importing its hook."""

    conn_type: str  #: also ``VideoJob.provider``
    hook: str  #: "module:Class"
    hook_name: str  #: shown in Airflow's connection form
    vendor: str  #: the vendor's display name ("Your <vendor> API key")
    default_base_url: str
    default_conn_name: str
    #: ``Authorization: <auth_scheme> <key>``.
    auth_scheme: str = "Bearer"
    #: Path under the base URL where the API's routes live (e.g. ``/v1``). A connection host that already
    #: ends with it is accepted as is (as OpenAI SDK base URLs are), so it is never added twice.
    api_root: str = ""
    conn_name_attr: str = "conn_id"
    #: Where a user sees their jobs in the vendor's web app (named when a lost create must be looked for).
    console_url: str = ""

    @property
    def hook_class_name(self) -> str:
        return self.hook.replace(":", ".")

    @property
    def hook_module(self) -> str:
        return self.hook.partition(":")[0]


#: connection type (also ``VideoJob.provider``) -> its spec. One entry per API.
HOOKS: Final[dict[str, ApiSpec]] = {
    spec.conn_type: spec
    for spec in (
        ApiSpec(
            conn_type="tensorpix",
            hook="airflow_provider_vidjobs.hooks.tensorpix:TensorPixHook",
            hook_name="TensorPix",
            vendor="TensorPix",
            default_base_url="https://backend.tensorpix.ai",
            default_conn_name="tensorpix_default",
            auth_scheme="Token",
        ),
        ApiSpec(
            conn_type="aihubmix",
            hook="airflow_provider_vidjobs.hooks.aihubmix:AIHubMixHook",
            hook_name="AIHubMix (OpenAI-shaped Videos API)",
            vendor="AIHubMix",
            default_base_url="https://aihubmix.com",
            default_conn_name="aihubmix_default",
            auth_scheme="Bearer",
            api_root="/v1",
        ),
        ApiSpec(
            conn_type="replicate",
            hook="airflow_provider_vidjobs.hooks.replicate:ReplicateHook",
            hook_name="Replicate (predictions)",
            vendor="Replicate",
            default_base_url="https://api.replicate.com",
            default_conn_name="replicate_default",
            auth_scheme="Bearer",
            api_root="/v1",
            console_url="https://replicate.com/predictions",
        ),
    )
}


def hook_modules() -> list[str]:
    """The modules holding the registered hooks, in registry order (for provider info)."""
    return list(dict.fromkeys(spec.hook_module for spec in HOOKS.values()))


def hook_class(provider: str) -> type[VideoJobHook]:
    """The hook class for a connection type, or a clear error naming the supported ones."""
    try:
        spec = HOOKS[provider]
    except KeyError:
        raise ValueError(
            f"No video API named {provider!r}; supported connection types: {', '.join(sorted(HOOKS))}"
        ) from None
    module, _, name = spec.hook.partition(":")
    cls: type[VideoJobHook] = getattr(importlib.import_module(module), name)
    return cls
