"""What a hook needs from an Airflow connection, read once and validated, with the key kept out of reprs."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_vidjobs.retry import RetryPolicy

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0

#: Connection extra keys this provider reads (documented in the README).
EXTRA_FIELDS = ("timeout", "connect_timeout", "verify", "ca_bundle", "proxy", "max_attempts", "web_url_template")


class Secret:
    """A string that never shows itself in ``repr``/``str``, so a key cannot leak through a log of an object."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class ConnectionSettings:
    """Base URL, key and transport options for one connection."""

    conn_id: str
    base_url: str
    api_key: Secret = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    verify: bool = True
    ca_bundle: str | None = None
    proxy: Secret | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Link to a job in the vendor's web app, e.g. ``https://app.example.com/jobs/{job_id}``.
    web_url_template: str | None = None

    def fingerprint(self) -> str:
        """A stable id of everything that shapes an HTTP client, so clients are shared only when identical."""
        parts = (
            self.conn_id,
            self.base_url,
            self.api_key.reveal(),
            str(self.timeout),
            str(self.connect_timeout),
            str(self.verify),
            self.ca_bundle or "",
            self.proxy.reveal() if self.proxy else "",
        )
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


#: ``user:password@`` at the start of a host (after an optional scheme): where a pasted key would hide.
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)?[^/?#]*@")


def normalize_base_url(host: str | None, default: str, scheme: str | None = None, port: int | None = None) -> str:
    """The API root from a connection host: ``api.example.com`` -> ``https://api.example.com``.

    A missing scheme takes the connection's schema field or https; a path is kept (gateways behind a
    prefix); a trailing slash is dropped.
    """
    raw = (host or "").strip()
    if not raw:
        return default.rstrip("/")
    shown = _USERINFO.sub(r"\1***@", raw)  # every message shows this: a key typed before an @ stays hidden
    if shown != raw:
        raise ValueError(
            f"The connection host {shown!r} contains a user name or password before '@'. Put the API key in "
            "the connection's password field and only the base URL in the host."
        )
    if any(ch.isspace() for ch in raw):
        raise ValueError(f"The connection host {shown!r} contains whitespace; set it to the API's base URL only.")
    if "://" not in raw:
        raw = f"{(scheme or 'https').strip().lower()}://{raw}"
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"The connection host {shown!r} is not an http(s) URL. Set it to the API's base URL, "
            f"for example {default!r}, or leave it empty to use that default."
        )
    if parts.query or parts.fragment:
        raise ValueError(f"The connection host {shown!r} must not have a query string or fragment.")
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")


def clean_api_key(password: str | None, conn_id: str, provider: str) -> Secret:
    """The key from the connection's password, stripped; refused clearly if empty or multi-line."""
    key = (password or "").strip()
    if not key:
        raise ValueError(
            f"Connection {conn_id!r} has no API key. Put your {provider} API key in the connection's "
            "password field (shown as 'API key' in the UI)."
        )
    if any(ch in key for ch in "\r\n\0") or any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise ValueError(
            f"The API key in connection {conn_id!r} contains a line break or control character; "
            "paste the key again as a single line."
        )
    # Copied from a web page or a chat, a key can carry a space, a non-breaking or zero-width space or smart
    # quotes: sent as they are, the API only says "key rejected". Name the character, never the key.
    odd = next((i for i, ch in enumerate(key) if ch.isspace() or not ch.isascii()), None)
    if odd is not None:
        char = key[odd]
        raise ValueError(
            f"The API key in connection {conn_id!r} contains {unicodedata.name(char, 'a character').lower()} "
            f"(U+{ord(char):04X}) at position {odd + 1} of {len(key)}; API keys are ASCII letters, digits and "
            "punctuation only. Paste the key again as plain text."
        )
    return Secret(key)


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"Connection extra {name!r} must be true or false, not {value!r}")


def _as_positive(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Connection extra {name!r} must be a number of seconds, not {value!r}") from None
    if number <= 0:
        raise ValueError(f"Connection extra {name!r} must be greater than 0, not {value!r}")
    return number


def settings_from_connection(
    *,
    conn_id: str,
    provider: str,
    default_base_url: str,
    host: str | None,
    schema: str | None,
    port: int | None,
    password: str | None,
    extra: Mapping[str, Any],
) -> ConnectionSettings:
    """Validate a connection's fields into :class:`ConnectionSettings` (one place for both sync and async).

    An extra that is present but null (what the UI stores for a cleared field) means its default.
    """
    extra = {key: value for key, value in extra.items() if value is not None and value != ""}
    verify_value = extra.get("verify", True)
    ca_bundle = extra.get("ca_bundle")
    # Airflow's HTTP hooks accept a CA path in ``verify``; accept it too.
    if isinstance(verify_value, str) and verify_value.strip().lower() not in (
        "true",
        "false",
        "1",
        "0",
        "yes",
        "no",
        "on",
        "off",
    ):
        ca_bundle, verify_value = verify_value, True
    retry = RetryPolicy()
    if extra.get("max_attempts") is not None:
        retry = RetryPolicy(max_attempts=int(_as_positive(extra["max_attempts"], "max_attempts")))
    proxy = _proxy(extra.get("proxy"))
    return ConnectionSettings(
        conn_id=conn_id,
        base_url=normalize_base_url(host, default_base_url, scheme=schema or None, port=port),
        api_key=clean_api_key(password, conn_id, provider),
        timeout=_as_positive(extra.get("timeout", DEFAULT_TIMEOUT), "timeout"),
        connect_timeout=_as_positive(extra.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT), "connect_timeout"),
        verify=_as_bool(verify_value, "verify"),
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        proxy=Secret(proxy) if proxy else None,
        retry=retry,
        web_url_template=_web_url_template(extra.get("web_url_template")),
    )


#: Proxy URL schemes httpx speaks (socks5 needs the ``socksio`` package).
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _proxy(value: Any) -> str | None:
    """The ``proxy`` extra: a proxy URL, or ``none``/``direct`` to ignore the environment's proxies.

    A proxy's user name and password stay out of every message (shown as ``***@``).
    """
    if not value:
        return None
    text = str(value).strip()
    if text.lower() in ("none", "direct"):
        return text.lower()
    shown = _USERINFO.sub(r"\1***@", text)
    parts = urlsplit(text if "://" in text else f"http://{text}")
    try:
        parts.port  # noqa: B018  # raises on a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    bare_path = "://" not in text and "/" in text
    if (
        parts.scheme not in PROXY_SCHEMES
        or not parts.hostname
        or bare_path
        or any(ch.isspace() or ord(ch) < 32 for ch in text)
    ):
        raise ValueError(
            f"Connection extra 'proxy' {shown!r} is not a proxy URL. Use e.g. 'http://proxy.example.com:3128' "
            f"(schemes: {', '.join(PROXY_SCHEMES)}), or 'none' to ignore HTTP(S)_PROXY in the environment."
        )
    return text if "://" in text else f"http://{text}"


def _web_url_template(value: Any) -> str | None:
    if not value:
        return None
    template = str(value).strip()
    if "{job_id}" not in template or not template.startswith(("https://", "http://")):
        raise ValueError(
            f"Connection extra 'web_url_template' must be an http(s) URL containing {{job_id}}, not {template!r}"
        )
    return template
