"""A small synchronous client for the control API (``/_sim/...``), used by tests, fixtures and
benchmarks to script jobs, inject faults and read counters."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import httpx


def _q(job_id: str) -> str:
    return quote(job_id, safe="")


def _tls(verify: str | bool) -> ssl.SSLContext | bool:
    """httpx deprecates a CA path as ``verify``: build the context it wants from one."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


class ControlError(RuntimeError):
    """The control API refused a request."""


class SimulatorControl:
    """Sync httpx client for one simulator's control API."""

    def __init__(self, url: str, *, timeout: float = 10.0, verify: str | bool = True) -> None:
        """``verify``: for an HTTPS simulator, the PEM file of its certificate (or of its CA)."""
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=timeout, trust_env=False, verify=_tls(verify))

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        resp = self._http.request(method, path, json=body, params=params)
        if resp.status_code >= 400:
            raise ControlError(f"{method} {path} -> {resp.status_code}: {resp.text}")
        return resp.json()

    # --- whole simulator -------------------------------------------------------------------
    def health(self) -> bool:
        """True when the server answers."""
        return bool(self._call("GET", "/_sim/health")["ok"])

    def reset(self) -> None:
        """Back to the start-up configuration: no jobs, no faults, default keys, zero counters."""
        self._call("POST", "/_sim/reset")

    def stats(self) -> dict[str, Any]:
        """Counters: per endpoint, per job, faults fired, storage key leaks, connections."""
        result: dict[str, Any] = self._call("GET", "/_sim/stats")
        return result

    def reset_stats(self) -> None:
        """Zero the counters only."""
        self._call("POST", "/_sim/stats/reset")

    def config(self) -> dict[str, Any]:
        """Live settings (time scale, URL TTL, poll hint, API options, default timeline, keys, now)."""
        result: dict[str, Any] = self._call("GET", "/_sim/config")
        return result

    def set_config(self, **fields: Any) -> dict[str, Any]:
        """Change live settings: ``time_scale``, ``url_ttl_s``, ``poll_after_ms``, ``timeline`` (default
        timeline fields), ``keys``, and the APIs' options (``SimApi.options``)."""
        result: dict[str, Any] = self._call("POST", "/_sim/config", fields)
        return result

    def disable_endpoints(self, *endpoints: str, status: int = 404) -> dict[str, int]:
        """Make the server lack these endpoints (route templates as the counters name them, e.g.
        ``"GET /v1/videos"``): they answer ``status`` (404, or 405) in the API's own error shape.
        Adds to those already disabled; returns them all."""
        current: dict[str, int] = dict(self.config().get("disabled_endpoints") or {})
        current.update(dict.fromkeys(endpoints, status))
        result: dict[str, int] = self.set_config(disabled_endpoints=current)["disabled_endpoints"]
        return result

    def enable_endpoints(self) -> None:
        """Serve every endpoint again."""
        self.set_config(disabled_endpoints={})

    def set_time_scale(self, time_scale: float) -> None:
        """Make simulated time run ``time_scale`` times faster from now on."""
        self._call("POST", "/_sim/clock", {"time_scale": time_scale})

    def advance_clock(self, seconds: float) -> None:
        """Jump simulated time forward."""
        self._call("POST", "/_sim/clock", {"advance_s": seconds})

    def now(self) -> float:
        """Simulated unix time."""
        return float(self._call("GET", "/_sim/clock")["now"])

    # --- keys ------------------------------------------------------------------------------
    def keys(self) -> dict[str, list[str]]:
        """Valid keys per API."""
        result: dict[str, list[str]] = self._call("GET", "/_sim/keys")
        return result

    def set_keys(self, **keys: list[str] | None) -> None:
        """Replace the valid keys of the APIs named (``set_keys(<api>=[...], ...)``; None leaves one as is)."""
        body = {api: values for api, values in keys.items() if values is not None}
        self._call("PUT", "/_sim/keys", body)

    def revoke_key(self, api: str, key: str | None = None) -> None:
        """Revoke one key of ``api`` (or all of them): later requests with it get 401."""
        self._call("POST", "/_sim/keys/revoke", {"api": api, "key": key})

    # --- jobs ------------------------------------------------------------------------------
    def create_job(
        self,
        api: str,
        *,
        prompt: str = "a simulated video",
        id: str | None = None,
        id_style: str | None = None,
        sim: dict[str, Any] | None = None,
        faults: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a job of ``api`` (a registered API's name) directly; returns its control view
        (``id``, ``phase``, ``timeline``, ``paths``, ``vendor`` JSON ...)."""
        body: dict[str, Any] = {"api": api, "prompt": prompt, **fields}
        for key, value in (("id", id), ("id_style", id_style), ("sim", sim), ("faults", faults)):
            if value is not None:
                body[key] = value
        result: dict[str, Any] = self._call("POST", "/_sim/jobs", body)
        return result

    def job(self, job_id: str) -> dict[str, Any]:
        """Control view of one job."""
        result: dict[str, Any] = self._call("GET", f"/_sim/jobs/{_q(job_id)}")
        return result

    def jobs(self, api: str | None = None) -> list[dict[str, Any]]:
        """Control views of all jobs (optionally of one API)."""
        params = {"api": api} if api else None
        result: list[dict[str, Any]] = self._call("GET", "/_sim/jobs", params=params)["jobs"]
        return result

    def update_job(self, job_id: str, *, faults: list[dict[str, Any]] | None = None, **timeline: Any) -> dict[str, Any]:
        """Change a job's timeline fields (e.g. ``outcome="stuck"``) and/or add fault rules."""
        body: dict[str, Any] = {}
        if timeline:
            body["sim"] = timeline
        if faults:
            body["faults"] = faults
        result: dict[str, Any] = self._call("PATCH", f"/_sim/jobs/{_q(job_id)}", body)
        return result

    def delete_job(self, job_id: str) -> None:
        """Delete a job: its vendor GETs answer 404 from now on."""
        self._call("DELETE", f"/_sim/jobs/{_q(job_id)}")

    def add_job_faults(self, job_id: str, *rules: dict[str, Any]) -> list[dict[str, Any]]:
        """Attach fault rules to one job (they match only requests about that job)."""
        result: list[dict[str, Any]] = self._call("POST", f"/_sim/jobs/{_q(job_id)}/faults", list(rules))["faults"]
        return result

    def clear_job_faults(self, job_id: str) -> None:
        """Remove a job's fault rules."""
        self._call("DELETE", f"/_sim/jobs/{_q(job_id)}/faults")

    # --- global faults ---------------------------------------------------------------------
    def add_faults(self, *rules: dict[str, Any]) -> list[dict[str, Any]]:
        """Add global fault rules; returns all live global rules."""
        result: list[dict[str, Any]] = self._call("POST", "/_sim/faults", list(rules))["faults"]
        return result

    def faults(self) -> list[dict[str, Any]]:
        """Live global fault rules."""
        result: list[dict[str, Any]] = self._call("GET", "/_sim/faults")["faults"]
        return result

    def remove_fault(self, rule_id: int) -> None:
        """Remove one global rule."""
        self._call("DELETE", f"/_sim/faults/{rule_id}")

    def clear_faults(self) -> None:
        """Remove every global rule."""
        self._call("DELETE", "/_sim/faults")

    def outage(self, seconds: float, status: int = 503, api: str | None = None) -> None:
        """Shortcut: every API request fails with ``status`` for the next ``seconds``."""
        self.add_faults({"kind": "http_error", "status": status, "duration_s": seconds, "api": api})
