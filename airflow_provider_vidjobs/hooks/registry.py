"""The table of supported APIs. It imports nothing heavy: Airflow reads it while it is starting up."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook


@dataclass(frozen=True)
class ApiSpec:
    """What Airflow's UI and registry need to know of one API, without importing its hook."""

    conn_type: str
    hook: str  #: "module:Class"
    hook_name: str
    default_base_url: str

    @property
    def hook_class_name(self) -> str:
        return self.hook.replace(":", ".")


#: connection type (also ``VideoJob.provider``) -> its spec. One line per API.
HOOKS: Final[dict[str, ApiSpec]] = {
    spec.conn_type: spec
    for spec in (
        ApiSpec(
            "tensorpix",
            "airflow_provider_vidjobs.hooks.tensorpix:TensorPixHook",
            "TensorPix",
            "https://backend.tensorpix.ai",
        ),
        ApiSpec(
            "aihubmix",
            "airflow_provider_vidjobs.hooks.aihubmix:AIHubMixHook",
            "AIHubMix (OpenAI-shaped Videos API)",
            "https://aihubmix.com",
        ),
    )
}


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
