"""The API key on requests: only the API's own paths get it, never storage URLs or other hosts."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx


class ApiKeyAuth(httpx.Auth):
    """Adds the key to requests for the API's own paths only, never to storage or other hosts."""

    def __init__(self, header: str, base_url: str, api_prefix: str) -> None:
        self._header = header
        # Compare as httpx sees URLs: host lower-cased, default port dropped, IDN encoded.
        base = httpx.URL(base_url)
        self._origin = (base.scheme, base.netloc)
        self._prefix = base.raw_path.decode("ascii").rstrip("/") + api_prefix
        self._templates_of: httpx.AsyncClient | None = None
        self._templates: dict[tuple[str, str], httpx.Request] = {}

    def __repr__(self) -> str:
        return f"ApiKeyAuth(prefix={self._prefix!r})"

    def applies_to(self, url: httpx.URL) -> bool:
        """True for the API's own URLs: same origin, path under the API prefix."""
        return (url.scheme, url.netloc) == self._origin and url.raw_path.decode("ascii").startswith(self._prefix)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.applies_to(request.url):
            request.headers["Authorization"] = self._header
        yield request

    def build_request(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Request:
        """``client.build_request(method, path, **kwargs)`` with the key added where it belongs.

        Without ``kwargs`` (every poll) the same request object is returned each time for a path: it
        is sent as built and never changed, and building one parses and merges URLs and headers
        (~50 us, a sixth of a poll), while a wait sends the same request every few seconds.
        """
        if kwargs:
            return self._signed(client.build_request(method, path, **kwargs))
        if self._templates_of is not client:
            self._templates_of, self._templates = client, {}
        request = self._templates.get((method, path))
        if request is None:
            request = self._templates[(method, path)] = self._signed(client.build_request(method, path))
        return request

    def _signed(self, request: httpx.Request) -> httpx.Request:
        if self.applies_to(request.url):
            request.headers["Authorization"] = self._header
        return request
