"""Which proxy a request takes: the connection's ``proxy`` extra, else the environment, as httpx reads it.

The clients are built with ``transport=`` and ``trust_env=False`` (for speed, and so no ``.netrc``
or ``SSL_CERT_*`` reaches them unasked), which makes httpx ignore ``HTTP(S)_PROXY``, ``ALL_PROXY``
and ``NO_PROXY``. So the same rules are applied here: lower or upper case names (lower wins), ``NO_PROXY``
entries as curl reads them (``*``, ``host``, ``.domain``, an IP), and mounts httpx routes by URL.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.request import getproxies

import httpx

#: Values of the ``proxy`` extra that mean "no proxy, whatever the environment says".
DIRECT = frozenset({"none", "direct"})

#: ``user:password@`` after the scheme: never shown.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)?[^/?#]*@")

#: Mount pattern -> proxy URL, or None for a direct connection.
Mounts = dict[str, str | None]


def environment_mounts() -> Mounts:
    """Proxies from ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (upper or lower case)."""
    found = getproxies()
    mounts: Mounts = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            mounts[f"{scheme}://"] = _checked(url if "://" in url else f"http://{url}", f"{scheme.upper()}_PROXY")
    if not mounts:
        return {}
    for host in (h.strip() for h in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if host:
            mounts[_direct_pattern(host)] = None
    return mounts


def _checked(url: str, variable: str) -> str:
    """``url`` if httpx can use it as a proxy; else a clear error showing no password."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https", "socks5", "socks5h") or not parsed.host:
        shown = _USERINFO.sub(r"\1***@", url)
        raise ValueError(
            f"The proxy in the environment ({variable} or {variable.lower()}) is not a proxy URL: {shown!r}. "
            "Fix or unset it, or set the connection extra 'proxy' (or 'none')."
        )
    return url


def _direct_pattern(host: str) -> str:
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return f"all://[{address}]" if address.version == 6 else f"all://{address}"
    if host.lower() == "localhost":
        return "all://localhost"
    return f"all://*{host.lstrip('*.')}"  # curl: "example.com" and ".example.com" both cover its subdomains


def mounts_for(extra_proxy: str | None) -> Mounts:
    """The connection's routing: its ``proxy`` extra for everything (``none``: direct), else the environment."""
    if extra_proxy:
        return {} if extra_proxy.strip().lower() in DIRECT else {"all://": extra_proxy}
    return environment_mounts()


def proxy_for(url: str | httpx.URL, mounts: Mounts) -> str | None:
    """The proxy a request to ``url`` goes through under ``mounts`` (None: direct), most specific first."""
    target = httpx.URL(url)
    for pattern in sorted((_Pattern(key) for key in mounts), key=_Pattern.priority):
        if pattern.matches(target):
            return mounts[pattern.pattern]
    return None


class _Pattern:
    """A mount key matched as httpx routes mounts (``all://*example.com:8080``), without its private helper."""

    __slots__ = ("host", "host_regex", "pattern", "port", "scheme")

    def __init__(self, pattern: str) -> None:
        url = httpx.URL(pattern)
        self.pattern = pattern
        self.scheme = "" if url.scheme == "all" else url.scheme
        self.host = "" if url.host == "*" else url.host
        self.port = url.port
        self.host_regex: re.Pattern[str] | None = None
        if self.host.startswith("*."):  # subdomains only
            self.host_regex = re.compile(f"^.+\\.{re.escape(self.host[2:])}$")
        elif self.host.startswith("*"):  # the domain and its subdomains
            self.host_regex = re.compile(f"^(.+\\.)?{re.escape(self.host[1:])}$")
        elif self.host:
            self.host_regex = re.compile(f"^{re.escape(self.host)}$")

    def matches(self, other: httpx.URL) -> bool:
        if self.scheme and self.scheme != other.scheme:
            return False
        if self.host_regex is not None and not self.host_regex.match(other.host):
            return False
        return self.port is None or self.port == other.port

    def priority(self) -> tuple[int, int, int]:
        """Sort key, most specific first: with a port, then longer hosts, then longer schemes."""
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))
