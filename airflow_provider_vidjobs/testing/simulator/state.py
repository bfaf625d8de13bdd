"""The simulator's whole mutable world, owned by the server's event loop (no locks needed)."""

from __future__ import annotations

import random
import secrets
from typing import Any

from airflow_provider_vidjobs.testing.simulator import apis
from airflow_provider_vidjobs.testing.simulator.clock import SimClock
from airflow_provider_vidjobs.testing.simulator.config import SimulatorConfig
from airflow_provider_vidjobs.testing.simulator.faults import FaultBook, FaultRule, parse_rule
from airflow_provider_vidjobs.testing.simulator.jobs import JobStore
from airflow_provider_vidjobs.testing.simulator.stats import ConnTracker, Stats
from airflow_provider_vidjobs.testing.simulator.storage import StorageSigner
from airflow_provider_vidjobs.testing.simulator.timeline import Timeline


class SimState:
    """Jobs, keys, faults, clock and counters. ``reset()`` returns to the start-up config."""

    def __init__(self, config: SimulatorConfig, tracker: ConnTracker | None = None) -> None:
        for name, option in apis.options().items():
            option.check(config.options[name])
        self.config = config
        self.tracker = tracker or ConnTracker()
        self.stats = Stats(self.tracker)
        secret = config.storage_secret.encode() if config.storage_secret else secrets.token_bytes(32)
        self.signer = StorageSigner(secret)
        self.reset()

    def reset(self) -> None:
        """Forget every job, rule and count; restore keys, clock speed and defaults."""
        cfg = self.config
        self.clock = SimClock(cfg.time_scale)
        self.rng = random.Random(cfg.seed)  # noqa: S311 - test data, seedable on purpose
        self.jobs = JobStore()
        self.faults = FaultBook()
        self.keys: dict[str, set[str]] = {api: set(cfg.keys.get(api, ())) for api in apis.APIS}
        self.url_ttl_s = cfg.url_ttl_s
        self.poll_after_ms = cfg.poll_after_ms
        #: Live per-API options (``SimApi.options``), by name.
        self.options: dict[str, Any] = dict(cfg.options)
        self.default_timeline = Timeline().updated(cfg.timeline)
        #: Endpoints this server does not have: route template -> status (``routing.disabled_endpoints``).
        self.disabled_endpoints: dict[str, int] = dict(cfg.disabled_endpoints)
        for raw in cfg.faults:
            self.faults.add(self.new_rule(raw))
        self.stats.reset()

    def new_rule(self, raw: dict[str, Any], default_api: str | None = None) -> FaultRule:
        """Parse a fault rule with a fresh id, stamped with the current simulated time."""
        return parse_rule(raw, now=self.clock.now(), rule_id=self.faults.next_id(), default_api=default_api)

    def settings(self) -> dict[str, Any]:
        """The live, changeable settings (``GET /_sim/config``)."""
        return {
            "time_scale": self.clock.time_scale,
            "url_ttl_s": self.url_ttl_s,
            "poll_after_ms": self.poll_after_ms,
            **self.options,
            "disabled_endpoints": dict(self.disabled_endpoints),
            "timeline": self.default_timeline.to_dict(),
            "keys": {api: sorted(keys) for api, keys in self.keys.items()},
            "now": self.clock.now(),
        }
