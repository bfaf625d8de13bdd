"""``vidjobs-simulator``: serve every registered simulated API until SIGINT/SIGTERM.

Once it accepts connections it prints ``vidjobs-simulator listening on http://HOST:PORT`` (always the
first line: scripts wait for it), then the keys it accepts per API and ready ``AIRFLOW_CONN_*`` lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from airflow_provider_vidjobs.testing.simulator import apis, routing
from airflow_provider_vidjobs.testing.simulator.config import SimulatorConfig
from airflow_provider_vidjobs.testing.simulator.timeline import OUTCOMES


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _endpoint_status(text: str) -> tuple[str, int]:
    endpoint, _, status = text.rpartition("=") if "=" in text else (text, "", "404")
    try:
        [(name, code)] = routing.disabled_endpoints({endpoint.strip(): int(status)}).items()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name, code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also documents every flag in ``--help``)."""
    labels = " and ".join(spec.label for spec in apis.APIS.values())
    p = argparse.ArgumentParser(
        prog="vidjobs-simulator", description=f"Simulated {labels} video-generation APIs, for tests."
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second")
    for spec in apis.APIS.values():
        flag = spec.name.replace("_", "-")
        p.add_argument(
            f"--{flag}-key",
            dest=f"{spec.name}_key",
            action="append",
            help=f"valid {spec.label} key (repeatable; default {spec.default_key})",
        )
        p.add_argument(
            f"--no-{flag}-keys",
            dest=f"no_{spec.name}_keys",
            action="store_true",
            help=f"start with no valid {spec.label} key",
        )
    p.add_argument("--url-ttl-s", type=float, default=3600.0, help="lifetime of pre-signed storage URLs")
    p.add_argument("--poll-after-ms", type=int, help="poll hint (ms) on job GETs of APIs that send one")
    for option in apis.options().values():
        p.add_argument(
            f"--{option.name.replace('_', '-')}", choices=option.choices, default=option.default, help=option.help
        )
    g = p.add_argument_group("default timeline of new jobs")
    g.add_argument("--timeline", type=_json_object, help="JSON timeline fields, e.g. '{\"queued_s\": 5}'")
    g.add_argument("--queued-s", type=float, help="seconds queued")
    g.add_argument("--running-s", type=float, help="seconds running")
    g.add_argument("--outcome", choices=OUTCOMES, help="how jobs end")
    g.add_argument("--asset-size-bytes", type=int, help="size of every generated video")
    f = p.add_argument_group("global faults (all repeatable)")
    f.add_argument("--fault", type=_json_object, action="append", default=[], help="a fault rule as JSON")
    f.add_argument("--latency-s", type=float, help="add this delay to every vendor request")
    f.add_argument("--outage-s", type=float, help="answer 503 to every vendor request for this long after start")
    f.add_argument(
        "--error-burst", action="append", default=[], metavar="STATUS:N", help="the next N vendor requests get STATUS"
    )
    f.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="N[:RETRY_AFTER]",
        help="the next N vendor requests get 429",
    )
    p.add_argument(
        "--disable-endpoint",
        action="append",
        default=[],
        type=_endpoint_status,
        metavar="ENDPOINT[=STATUS]",
        help="serve without this route, e.g. 'GET /v1/videos' (a gateway with no list): it answers 404 or STATUS",
    )
    o = p.add_argument_group("other")
    o.add_argument("--seed", type=int, help="seed ids and progress noise")
    o.add_argument("--storage-secret", help="HMAC secret of storage URLs (default: random)")
    o.add_argument("--keep-alive-timeout-s", type=float, default=15.0, help="idle keep-alive timeout")
    o.add_argument("--log-level", default="warning", help="uvicorn log level")
    o.add_argument("--cpu", type=int, help="pin the server to this CPU core (Linux)")
    t = p.add_argument_group("TLS (serve https:// instead of http://)")
    t.add_argument("--ssl-certfile", help="PEM certificate (optionally followed by its CA chain)")
    t.add_argument("--ssl-keyfile", help="PEM private key of the certificate")
    return p


def config_from_args(ns: argparse.Namespace) -> SimulatorConfig:
    """Turn parsed flags into a ``SimulatorConfig``."""
    timeline: dict[str, Any] = dict(ns.timeline or {})
    for field in ("queued_s", "running_s", "outcome", "asset_size_bytes"):
        value = getattr(ns, field)
        if value is not None:
            timeline[field] = value
    faults: list[dict[str, Any]] = list(ns.fault)
    if ns.latency_s:
        faults.append({"kind": "latency", "delay_s": ns.latency_s})
    if ns.outage_s:
        faults.append({"kind": "http_error", "status": 503, "duration_s": ns.outage_s})
    for item in ns.error_burst:
        status, _, count = item.partition(":")
        faults.append({"kind": "http_error", "status": int(status), "count": int(count or 1)})
    for item in ns.rate_limit:
        count, _, retry_after = item.partition(":")
        rule: dict[str, Any] = {"kind": "http_error", "status": 429, "count": int(count)}
        if retry_after:
            rule["retry_after"] = float(retry_after)
        faults.append(rule)
    disabled = dict(ns.disable_endpoint)
    keys = {
        name: [] if getattr(ns, f"no_{name}_keys") else (getattr(ns, f"{name}_key") or [spec.default_key])
        for name, spec in apis.APIS.items()
    }
    return SimulatorConfig(
        host=ns.host,
        port=ns.port,
        keys=keys,
        time_scale=ns.time_scale,
        url_ttl_s=ns.url_ttl_s,
        poll_after_ms=ns.poll_after_ms,
        options={name: getattr(ns, name) for name in apis.options()},
        timeline=timeline,
        faults=faults,
        disabled_endpoints=disabled,
        seed=ns.seed,
        storage_secret=ns.storage_secret,
        keep_alive_timeout_s=ns.keep_alive_timeout_s,
        log_level=ns.log_level,
        ssl_certfile=ns.ssl_certfile,
        ssl_keyfile=ns.ssl_keyfile,
    )


def startup_lines(url: str, config: SimulatorConfig) -> list[str]:
    """What a person needs after the URL: the keys each API accepts, and connections to paste."""

    def keys(values: list[str]) -> str:
        return ", ".join(values) if values else "(none: every key is rejected)"

    specs = list(apis.APIS.values())
    width = max(len(spec.label) for spec in specs) + len(" API key: ")
    lines = [f"  {(spec.label + ' API key:').ljust(width)}{keys(config.keys[spec.name])}" for spec in specs]
    lines.append("  Airflow connections (set them for every Airflow component, the triggerer included):")
    for spec in specs:
        conn_id, conn_type, values = f"{spec.name}_default", spec.name, config.keys[spec.name]
        conn: dict[str, Any] = {"conn_type": conn_type, "host": url, "password": values[0] if values else ""}
        if url.startswith("https://") and config.ssl_certfile:
            conn["extra"] = {"ca_bundle": os.path.abspath(config.ssl_certfile)}
        lines.append(f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(json.dumps(conn))}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vidjobs-simulator``."""
    from airflow_provider_vidjobs.testing.simulator.server import READY_PREFIX, serve_forever
    from airflow_provider_vidjobs.testing.simulator.state import SimState

    ns = build_parser().parse_args(argv)
    if bool(ns.ssl_certfile) != bool(ns.ssl_keyfile):
        print("vidjobs-simulator: --ssl-certfile and --ssl-keyfile go together", file=sys.stderr)
        return 2
    config = config_from_args(ns)
    try:
        SimState(config)  # validate timeline, faults and id style before binding
    except ValueError as exc:
        print(f"vidjobs-simulator: {exc}", file=sys.stderr)
        return 2
    if ns.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {ns.cpu})

    def ready(url: str) -> None:
        print(f"{READY_PREFIX}{url}", flush=True)
        print("\n".join(startup_lines(url, config)), flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        serve_forever(config, ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
