"""Fault rules: "the next N requests to this job/endpoint get X" and "for T seconds, X".

A rule is global (held by ``FaultBook``) or attached to one job. Kinds:

- ``http_error``: answer ``status`` (429/500/502/503/...) in the vendor's own error shape, with
  ``Retry-After`` as seconds, as an HTTP date, or absent, and optionally ``retry-after-ms``.
  With ``after_commit`` the vendor's handler runs first (a create commits, the job exists and is paid
  for) and the answer is lost on the way back: a proxy in front of the vendor answers instead, with
  nginx's HTML error page unless ``body`` is given (``status`` 502 or 504 as a gateway sends them).
- ``latency``: wait ``delay_s`` (real seconds) before answering normally; with ``after_commit`` the wait
  comes after the handler ran (the job exists while the client is still waiting).
- ``reset``: send the headers and ``reset_after_bytes`` of the body (default half; 0: headers only), then
  drop the connection (TCP RST, or FIN with ``reset_mode: "fin"``). The handler always runs first.
- ``truncated_json``: status 200, the JSON body cut short. The handler always runs first.
- ``html``: status 200 (or ``status``), an HTML page instead of JSON (``after_commit`` as ``http_error``).
- ``drop``: no answer at all. The handler runs (unless ``after_commit`` is false: the request never
  reached the vendor), the connection is held for ``delay_s`` real seconds (ended early if the client
  gives up: a client timeout shorter than ``delay_s`` sees nothing), then dropped with a TCP RST (or FIN).
- ``unknown_status``: the job's ``status`` field reads ``value``.
- ``drift``: schema drift: ``extra`` keys added, ``remove`` keys dropped, ``nulls`` set to null
  (dotted paths reach nested objects), ``seconds_as_number`` sends a string ``seconds`` field as a number.
- ``headers``: add response ``headers`` (e.g. ``openai-poll-after-ms``).
"""

from __future__ import annotations

import dataclasses
import email.utils
import time
from collections.abc import Iterable, Mapping
from typing import Any

RESPONSE_KINDS = frozenset({"http_error", "reset", "truncated_json", "html", "drop"})
#: Kinds that cut or replace the vendor's own answer, so its handler always runs first.
_CUT_KINDS = frozenset({"reset", "truncated_json"})
#: Kinds whose ``after_commit`` may be set (``drop`` defaults to true, the others to false).
_COMMIT_CHOICE_KINDS = frozenset({"http_error", "html", "latency", "drop"})
MODIFIER_KINDS = frozenset({"unknown_status", "drift", "headers"})
FAULT_KINDS = frozenset({"latency"}) | RESPONSE_KINDS | MODIFIER_KINDS


class FaultError(ValueError):
    """A fault rule is malformed."""


@dataclasses.dataclass
class FaultRule:
    """One fault rule. Matching fields left None match everything."""

    kind: str
    id: int = 0
    # which requests
    api: str | None = None
    endpoint: str | None = None
    method: str | None = None
    # when: skip the first ``skip`` matches, then fire ``count`` times (None: unlimited)
    # within ``duration_s`` simulated seconds of the rule's creation (None: forever)
    count: int | None = None
    skip: int = 0
    duration_s: float | None = None
    # what
    status: int | None = None
    retry_after: float | None = None
    retry_after_format: str = "seconds"
    retry_after_ms: int | None = None
    body: str | None = None
    content_type: str | None = None
    delay_s: float = 0.0
    reset_after_bytes: int | None = None
    reset_mode: str = "rst"
    #: Run the vendor's handler first (None: the kind's default, see ``commits``).
    after_commit: bool | None = None
    value: str = "MYSTERY_STATE"
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    remove: list[str] = dataclasses.field(default_factory=list)
    nulls: list[str] = dataclasses.field(default_factory=list)
    seconds_as_number: bool = False
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    # bookkeeping
    created: float = 0.0
    seen: int = 0
    fired: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, including how often it fired."""
        return dataclasses.asdict(self)

    @property
    def effective_status(self) -> int:
        """``status``, defaulting to 200 for ``html`` and 503 for ``http_error``."""
        if self.status is not None:
            return self.status
        return 200 if self.kind == "html" else 503

    @property
    def commits(self) -> bool:
        """True when the vendor's handler runs before the fault acts (a create then exists and is counted)."""
        if self.after_commit is not None:
            return self.after_commit
        return self.kind in _CUT_KINDS or self.kind == "drop"

    def exhausted(self, now: float) -> bool:
        """True once it can never fire again."""
        if self.count is not None and self.fired >= self.count:
            return True
        return self.duration_s is not None and now > self.created + self.duration_s

    def matches(self, api: str, endpoint: str, method: str, now: float) -> bool:
        """Does this rule cover the request, and is it live now?"""
        if self.api is not None and self.api != api:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.endpoint is not None and self.endpoint not in (endpoint, endpoint.partition(" ")[2]):
            return False
        return not self.exhausted(now)

    def take(self) -> bool:
        """Count a matching request; True if the rule fires on it."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        self.fired += 1
        return True

    def retry_headers(self) -> list[tuple[str, str]]:
        """``Retry-After`` (seconds or HTTP date, real clock) and ``retry-after-ms`` headers."""
        out: list[tuple[str, str]] = []
        if self.retry_after is not None and self.retry_after_format != "none":
            if self.retry_after_format == "http-date":
                out.append(("retry-after", email.utils.formatdate(time.time() + self.retry_after, usegmt=True)))
            else:
                out.append(("retry-after", _num(self.retry_after)))
        if self.retry_after_ms is not None:
            out.append(("retry-after-ms", str(self.retry_after_ms)))
        return out


_FIELDS = {f.name: f for f in dataclasses.fields(FaultRule)}
_SETTABLE = set(_FIELDS) - {"id", "created", "seen", "fired"}
_INT = {"count", "skip", "status", "retry_after_ms", "reset_after_bytes"}
_FLOAT = {"duration_s", "retry_after", "delay_s"}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_rule(data: Mapping[str, Any], *, now: float, rule_id: int, default_api: str | None = None) -> FaultRule:
    """Validate a JSON fault rule from the control API or the CLI."""
    if not isinstance(data, Mapping):
        raise FaultError("a fault rule must be a JSON object")
    unknown = set(data) - _SETTABLE
    if unknown:
        raise FaultError(f"unknown fault field(s) {sorted(unknown)}; known: {sorted(_SETTABLE)}")
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError(f"fault kind must be one of {sorted(FAULT_KINDS)}, got {kind!r}")
    values: dict[str, Any] = {}
    try:
        for key, raw in data.items():
            if raw is None:
                values[key] = None
            elif key in _INT:
                values[key] = int(raw)
            elif key in _FLOAT:
                values[key] = float(raw)
            elif key in ("seconds_as_number", "after_commit"):
                values[key] = _bool(key, raw)
            elif key in ("extra", "headers"):
                if not isinstance(raw, Mapping):
                    raise FaultError(f"{key} must be an object")
                values[key] = {str(k): (str(v) if key == "headers" else v) for k, v in raw.items()}
            elif key in ("remove", "nulls"):
                if not isinstance(raw, list):
                    raise FaultError(f"{key} must be a list of key paths")
                values[key] = [str(x) for x in raw]
            else:
                values[key] = str(raw)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, FaultError):
            raise
        raise FaultError(f"bad value in fault rule: {exc}") from None
    if values.get("api") is None and default_api is not None and "api" not in data:
        values["api"] = default_api
    rule = FaultRule(**values, id=rule_id, created=now)
    if rule.retry_after_format not in ("seconds", "http-date", "none"):
        raise FaultError("retry_after_format must be 'seconds', 'http-date' or 'none'")
    if rule.reset_mode not in ("rst", "fin"):
        raise FaultError("reset_mode must be 'rst' or 'fin'")
    if rule.kind == "http_error" and not 400 <= rule.effective_status <= 599:
        raise FaultError("http_error status must be 400-599")
    settable = rule.kind in _COMMIT_CHOICE_KINDS or (rule.kind in _CUT_KINDS and rule.after_commit)
    if rule.after_commit is not None and not settable:
        raise FaultError(
            f"after_commit applies to {sorted(_COMMIT_CHOICE_KINDS)}; {rule.kind} always acts on the answer "
            "the vendor's handler gave"
        )
    return rule


def _bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise FaultError(f"{key} must be true or false")


@dataclasses.dataclass
class Selection:
    """The faults that fire on one request."""

    delay_s: float = 0.0
    #: Latency added after the handler ran (``latency`` rules with ``after_commit``).
    delay_after_s: float = 0.0
    response: FaultRule | None = None
    modifiers: list[FaultRule] = dataclasses.field(default_factory=list)

    @property
    def any(self) -> bool:
        """True if anything fired."""
        return bool(self.delay_s or self.delay_after_s or self.response or self.modifiers)


def select(
    rules: Iterable[FaultRule], api: str, endpoint: str, method: str, now: float, into: Selection | None = None
) -> Selection:
    """Pick the rules that fire on a request (first response-replacing rule wins; all others add up)."""
    sel = into if into is not None else Selection()
    for rule in rules:
        if not rule.matches(api, endpoint, method, now):
            continue
        if rule.kind in RESPONSE_KINDS and sel.response is not None:
            continue
        if not rule.take():
            continue
        if rule.kind == "latency":
            if rule.commits:
                sel.delay_after_s += rule.delay_s
            else:
                sel.delay_s += rule.delay_s
        elif rule.kind in RESPONSE_KINDS:
            sel.response = rule
        else:
            sel.modifiers.append(rule)
    return sel


def apply_modifiers(payload: Any, modifiers: Iterable[FaultRule]) -> Any:
    """Apply ``unknown_status`` and ``drift`` rules to a JSON payload (a copy is returned)."""
    if not isinstance(payload, dict):
        return payload
    out: dict[str, Any] = dict(payload)
    for rule in modifiers:
        if rule.kind == "unknown_status":
            out["status"] = rule.value
        elif rule.kind == "drift":
            for path in rule.remove:
                _edit(out, path, None, delete=True)
            for path in rule.nulls:
                _edit(out, path, None, delete=False)
            for key, value in rule.extra.items():
                out[key] = value
            if rule.seconds_as_number and isinstance(out.get("seconds"), str):
                try:
                    num = float(out["seconds"])
                    out["seconds"] = int(num) if num.is_integer() else num
                except ValueError:
                    pass
    return out


def _edit(obj: dict[str, Any], path: str, value: Any, *, delete: bool) -> None:
    """Set or delete a dotted key path, copying nested dicts so cached payloads stay intact."""
    head, _, rest = path.partition(".")
    if rest:
        child = obj.get(head)
        if isinstance(child, dict):
            child = dict(child)
            obj[head] = child
            _edit(child, rest, value, delete=delete)
        return
    if delete:
        obj.pop(head, None)
    else:
        obj[head] = value


class FaultBook:
    """Global fault rules, in the order they were added."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1

    def next_id(self) -> int:
        """A fresh rule id (global and per-job rules share the numbering)."""
        rid = self._next_id
        self._next_id += 1
        return rid

    def add(self, rule: FaultRule) -> None:
        """Add a global rule."""
        self.rules.append(rule)

    def remove(self, rule_id: int) -> bool:
        """Drop one rule by id."""
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def prune(self, now: float) -> None:
        """Forget rules that can no longer fire (keeps the hot path's list short)."""
        if self.rules:
            self.rules = [r for r in self.rules if not r.exhausted(now)]

    def clear(self) -> None:
        """Drop every rule."""
        self.rules.clear()
