"""What Airflow's providers manager reads (through the ``apache_airflow_provider`` entry point).

Called while Airflow itself is importing: it must not import Airflow, httpx or the hooks.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_vidjobs import __version__
from airflow_provider_vidjobs.hooks.registry import HOOKS, ApiSpec, hook_modules

#: Airflow's form (3.1-3.3) writes EVERY declared field into the connection's extra JSON, null when
#: empty; there is no way for a provider to leave a field out. So a field states its default in its
#: description and has no schema "default": the form would store the default as if the user had set it,
#: pinning today's value in saved connections. Null means "the default" (``http.settings``). ``verify``
#: keeps ``default: True``: a checkbox cannot show "unset", and an unticked box must not read as "off".
_EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "timeout": {
        "label": "Timeout (s)",
        "description": "Seconds to wait for an API response (default 30).",
        "schema": {"type": ["number", "null"]},
    },
    "connect_timeout": {
        "label": "Connect timeout (s)",
        "description": "Seconds to wait for a TCP/TLS connection (default 10).",
        "schema": {"type": ["number", "null"]},
    },
    "verify": {
        "label": "Verify TLS",
        "description": "Verify the server's TLS certificate (default on). Turn off only for local testing.",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "ca_bundle": {
        "label": "CA bundle path",
        "description": "Path to a PEM bundle of CAs to trust, for servers behind a private CA.",
        "schema": {"type": ["string", "null"]},
    },
    "proxy": {
        "label": "Proxy URL",
        "description": "HTTP(S) proxy for API calls, e.g. http://proxy:3128.",
        "schema": {"type": ["string", "null"]},
    },
    "max_attempts": {
        "label": "Max attempts",
        "description": "Tries per request for 408/429/5xx and network errors (default 4).",
        "schema": {"type": ["integer", "null"]},
    },
    "web_url_template": {
        "label": "Job web URL template",
        "description": "Link shown on tasks, e.g. https://app.example.com/jobs/{job_id} (optional).",
        "schema": {"type": ["string", "null"]},
    },
}


def _connection_type(spec: ApiSpec) -> dict[str, Any]:
    return {
        "connection-type": spec.conn_type,
        "hook-class-name": spec.hook_class_name,
        "hook-name": spec.hook_name,
        "conn-fields": _EXTRA_FIELDS,
        "ui-field-behaviour": {
            # Not "extra": Airflow's UI (3.1 to 3.3) can hide only the standard fields and always shows
            # "Extra Fields JSON", where the extras below are stored; listing it would promise otherwise.
            # Port stays visible: Airflow 3.3.x's Test button sends port 0 for an empty one and its API
            # then refuses every test (README, "Testing a connection"); a saved port makes it work.
            "hidden-fields": ["schema", "login"],
            "relabeling": {"password": "API key", "host": "Base URL", "port": "Port (optional)"},
            "placeholders": {
                "host": spec.default_base_url,
                "password": f"Your {spec.vendor} API key",
                "port": "443 (set it to use the Test button on Airflow 3.3)",
            },
        },
    }


def _modules(kind: str) -> list[str]:
    if kind == "hooks":
        return hook_modules()  # from the registry: one list of APIs
    return [f"airflow_provider_vidjobs.{kind}.{name}" for name in _MODULES[kind]]


#: Modules per role besides the hooks (which come from :data:`HOOKS`), listed as they are added.
_MODULES: dict[str, list[str]] = {
    "operators": ["video_job", "aihubmix", "download"],
    "sensors": ["video_job"],
    "triggers": ["video_job"],
}


def get_provider_info() -> dict[str, Any]:
    """Provider metadata: package, connection types (with form fields) and modules."""
    info: dict[str, Any] = {
        "package-name": "airflow-provider-vidjobs",
        "name": f"Video jobs ({', '.join(spec.vendor for spec in HOOKS.values())})",
        "description": "Wait on AI video-generation jobs and pass their normalized metadata downstream.",
        "versions": [__version__],
        "connection-types": [_connection_type(spec) for spec in HOOKS.values()],
        "integrations": [
            {
                "integration-name": "Video jobs",
                "external-doc-url": "https://pypi.org/project/airflow-provider-vidjobs/",
                "tags": ["service"],
            }
        ],
    }
    for kind in ("hooks", *_MODULES):
        if modules := _modules(kind):
            info[kind] = [{"integration-name": "Video jobs", "python-modules": modules}]
    info["extra-links"] = ["airflow_provider_vidjobs.links.VideoJobLink"]
    return info
