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
from httpx._utils import URLPattern  # what httpx routes mounts by; public since 0.18 in all but name

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
    for pattern in sorted(URLPattern(key) for key in mounts):
        if pattern.matches(target):
            return mounts[pattern.pattern]
    return None
