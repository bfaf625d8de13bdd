"""The ASGI application: route by the longest registered path prefix (the API table's, storage's and the
control API's), then one pipeline for every API request: faults (latency, replaced or cut responses,
altered bodies), auth, handler, counters, send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from airflow_provider_vidjobs.testing.simulator import apis, control_api, errors, storage_api
from airflow_provider_vidjobs.testing.simulator.faults import FaultRule, Selection, apply_modifiers, select
from airflow_provider_vidjobs.testing.simulator.http import (
    Receive,
    Request,
    Response,
    Scope,
    Send,
    iter_prefix,
    send_response,
    text_response,
)
from airflow_provider_vidjobs.testing.simulator.protocol import abort_connection
from airflow_provider_vidjobs.testing.simulator.routing import PrefixTable, Routed, disabled_status, fixed
from airflow_provider_vidjobs.testing.simulator.spec import Router
from airflow_provider_vidjobs.testing.simulator.state import SimState

log = logging.getLogger(__name__)

#: The status a ``drop`` fault is counted with: no answer at all.
NO_ANSWER = 0

_DEFAULT_HTML = (
    "<!DOCTYPE html>\n<html><head><title>Service temporarily unavailable</title></head>\n"
    "<body><h1>We'll be back soon</h1><p>The site is under maintenance (vidjobs-simulator).</p></body></html>\n"
)


class SimulatorApp:
    """ASGI 3 app serving every registered API, the storage and the control API from one ``SimState``."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        routers: dict[str, Router] = {p: spec.route for spec in apis.APIS.values() for p in spec.prefixes}
        routers[storage_api.PREFIX] = storage_api.route
        self._routes = PrefixTable(routers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        req = Request(scope, receive)
        state = self.state
        if req.segments[:1] == ["_sim"]:
            state.tracker.note_request(scope.get("client"), api=False)
            await send_response(send, await control_api.handle(state, req))
            return
        state.tracker.note_request(scope.get("client"), api=True)
        router = self._routes.match(req.segments)
        if router is not None:
            routed = router(state, req)
            if state.disabled_endpoints:
                _disable(state, routed)
        else:
            routed = Routed("none", "unmatched", fixed(text_response(404, "Not Found", b"text/plain")))
        try:
            await self._serve(state, req, routed, send)
        except Exception:
            log.exception("vidjobs-simulator: error while serving %s %s", req.method, req.raw_path)
            raise

    async def _serve(self, state: SimState, req: Request, routed: Routed, send: Send) -> None:
        sel: Selection | None = None
        job = routed.job
        if state.faults.rules or (job is not None and job.faults):
            now = state.clock.now()
            state.faults.prune(now)
            sel = select(state.faults.rules, routed.api, routed.endpoint, req.method, now)
            if job is not None and job.faults:
                select(job.faults, routed.api, routed.endpoint, req.method, now, into=sel)
            if not sel.any:
                sel = None
            else:
                for rule in _fired(sel):
                    state.stats.fault_fired(rule.kind)
        if sel is None:
            resp = await self._handle(state, req, routed)
            await self._send(state, req, routed, resp, send)
            return
        if sel.delay_s > 0:
            await asyncio.sleep(sel.delay_s)
        cut = sel.response
        if cut is not None and not cut.commits:
            # The fault stands in front of the vendor: its handler never sees the request.
            if cut.kind == "drop":
                await self._drop(req, routed, cut)
                return
            await self._send(state, req, routed, _fault_response(routed.api, cut), send)
            return
        resp = await self._handle(state, req, routed)
        if sel.delay_after_s > 0:
            await asyncio.sleep(sel.delay_after_s)
        if cut is not None and cut.kind == "drop":
            await self._drop(req, routed, cut)
            return
        if cut is not None and cut.kind in ("http_error", "html"):
            # The vendor answered (a create committed); a proxy in front of it answers instead.
            resp = _fault_response(routed.api, cut, proxy=True)
        elif sel.modifiers:
            _modify(resp, sel.modifiers)
        if cut is not None and cut.kind == "truncated_json":
            body = resp.encoded()
            resp.body = body[: max(1, len(body) // 2)]
            resp.stream = None
        if cut is not None and cut.kind == "reset":
            self._finish(state, routed, resp)
            await self._reset(req, resp, cut, send)
            return
        await self._send(state, req, routed, resp, send)

    @staticmethod
    async def _handle(state: SimState, req: Request, routed: Routed) -> Response:
        """Authentication, then the route's handler: the vendor's own answer."""
        denied = routed.auth(state, req) if routed.auth is not None else None
        return denied if denied is not None else await routed.handler(state, req, routed)

    @staticmethod
    def _finish(state: SimState, routed: Routed, resp: Response) -> None:
        """Add the API's own headers and count the answer."""
        spec = apis.APIS.get(routed.api)
        if spec is not None and spec.response_headers is not None:
            resp.headers.extend(spec.response_headers())
        state.stats.record(routed.endpoint, routed.job_id, resp.status)

    async def _send(self, state: SimState, req: Request, routed: Routed, resp: Response, send: Send) -> None:
        self._finish(state, routed, resp)
        await send_response(send, resp, head_only=req.method == "HEAD")

    async def _drop(self, req: Request, routed: Routed, rule: FaultRule) -> None:
        """Answer nothing: hold the connection ``delay_s`` (less if the client leaves), then drop it.

        Counted with status 0 ("no answer")."""
        self.state.stats.record(routed.endpoint, routed.job_id, NO_ANSWER)
        if rule.delay_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(req.disconnected(), rule.delay_s)
        record = self.state.tracker.record_for(req.scope.get("client"))
        if record is not None:
            await abort_connection(record.transport, rst=rule.reset_mode == "rst", settle_s=0)
        # Wait until the server has seen the connection go, so that returning without a response is
        # not answered with a 500 by uvicorn.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(req.disconnected(), 1.0)

    async def _reset(self, req: Request, resp: Response, rule: FaultRule, send: Send) -> None:
        """Send the headers (full Content-Length) and part of the body, then drop the connection."""
        length = resp.length
        limit = rule.reset_after_bytes if rule.reset_after_bytes is not None else length // 2
        limit = max(0, min(limit, length - 1))
        headers = [*resp.headers, (b"content-length", str(length).encode())]
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        for piece in iter_prefix(resp, limit):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        record = self.state.tracker.record_for(req.scope.get("client"))
        if record is not None:
            await abort_connection(record.transport, rst=rule.reset_mode == "rst")
        # The connection is gone: this closing message is dropped by uvicorn, which then
        # does not log the response as incomplete.
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _disable(state: SimState, routed: Routed) -> None:
    """A route this server is configured not to have answers the API's own error (404 unless set)."""
    status = disabled_status(state.disabled_endpoints, routed.endpoint)
    spec = apis.APIS.get(routed.api)
    if status is not None and spec is not None:
        routed.handler = fixed(spec.status_error(status, None))


def _fired(sel: Selection) -> list[FaultRule]:
    rules = list(sel.modifiers)
    if sel.response is not None:
        rules.append(sel.response)
    return rules


def _modify(resp: Response, modifiers: list[FaultRule]) -> None:
    """Apply body and header modifiers to a normal response."""
    body_rules = [r for r in modifiers if r.kind in ("unknown_status", "drift")]
    if body_rules and resp.payload is not None and resp.status < 300:
        resp.payload = apply_modifiers(resp.payload, body_rules)
        resp.body = None
    for rule in modifiers:
        if rule.kind == "headers":
            for name, value in rule.headers.items():
                resp.add_header(name, value)


def _fault_response(api: str, rule: FaultRule, *, proxy: bool = False) -> Response:
    """The response an ``http_error`` or ``html`` rule answers with, in the vendor's own shape (``proxy``:
    after the vendor answered, so a proxy in front of it speaks, with nginx's page unless ``body`` is set)."""
    if rule.kind == "html":
        resp = text_response(rule.effective_status, rule.body or _DEFAULT_HTML, errors.HTML)
    elif rule.body is not None:
        ctype = rule.content_type or ("application/json" if rule.body.lstrip().startswith("{") else "text/plain")
        resp = text_response(rule.effective_status, rule.body, ctype.encode())
    elif proxy:
        resp = errors.nginx_html(rule.effective_status)
    elif api in apis.APIS:
        resp = apis.APIS[api].status_error(rule.effective_status, rule.retry_after)
    elif api == storage_api.API:
        resp = errors.s3_status_error(rule.effective_status)
    else:
        resp = text_response(rule.effective_status, errors.reason(rule.effective_status), b"text/plain")
    for name, value in rule.retry_headers():
        resp.add_header(name, value)
    for name, value in rule.headers.items():
        resp.add_header(name, value)
    return resp


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
