"""The control API under ``/_sim/`` (JSON in, JSON out): script jobs, inject faults, set keys and
the clock, read and reset counters. Never mixed into the vendor routes."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_vidjobs.testing.simulator import apis, routing
from airflow_provider_vidjobs.testing.simulator.faults import FaultError, FaultRule
from airflow_provider_vidjobs.testing.simulator.http import Request, Response, json_response
from airflow_provider_vidjobs.testing.simulator.jobs import Job
from airflow_provider_vidjobs.testing.simulator.spec import InputError
from airflow_provider_vidjobs.testing.simulator.state import SimState
from airflow_provider_vidjobs.testing.simulator.timeline import Timeline, TimelineError


class ControlError(Exception):
    """A control request that cannot be honoured."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fail(status: int, message: str) -> ControlError:
    return ControlError(status, message)


async def handle(state: SimState, req: Request) -> Response:
    """Dispatch one ``/_sim/...`` request."""
    try:
        return await _dispatch(state, req)
    except ControlError as exc:
        return json_response(exc.status, {"error": exc.message})
    except (FaultError, TimelineError, ValueError) as exc:
        return json_response(400, {"error": str(exc)})


async def _body(req: Request) -> Any:
    raw = await req.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _fail(400, f"body is not JSON: {exc}") from None


async def _object(req: Request) -> dict[str, Any]:
    data = await _body(req)
    if not isinstance(data, dict):
        raise _fail(400, "body must be a JSON object")
    return data


async def _dispatch(state: SimState, req: Request) -> Response:
    segs = [s for s in req.segments[1:]]
    if segs and segs[-1] == "":
        segs.pop()
    method = req.method
    head = segs[0] if segs else ""
    n = len(segs)
    if head == "health" and n == 1:
        return json_response(200, {"ok": True})
    if head == "reset" and n == 1 and method == "POST":
        state.reset()
        return json_response(200, {"ok": True})
    if head == "stats":
        if n == 1 and method == "GET":
            return json_response(200, state.stats.view())
        if n == 2 and segs[1] == "reset" and method == "POST":
            state.stats.reset()
            return json_response(200, {"ok": True})
    if head == "config" and n == 1:
        if method in ("POST", "PATCH", "PUT"):
            _update_config(state, await _object(req))
        return json_response(200, state.settings())
    if head == "clock" and n == 1:
        if method == "POST":
            data = await _object(req)
            if data.get("time_scale") is not None:
                state.clock.set_time_scale(float(data["time_scale"]))
            if data.get("advance_s") is not None:
                state.clock.advance(float(data["advance_s"]))
        return json_response(200, {"now": state.clock.now(), "time_scale": state.clock.time_scale})
    if head == "keys":
        return await _keys(state, req, segs)
    if head == "faults":
        return await _global_faults(state, req, segs)
    if head == "jobs":
        return await _jobs(state, req, segs)
    raise _fail(404, f"unknown control route {method} {req.raw_path}")


def _update_config(state: SimState, data: dict[str, Any]) -> None:
    options = apis.options()
    known = {"time_scale", "url_ttl_s", "poll_after_ms", "timeline", "keys", "disabled_endpoints", *options}
    unknown = set(data) - known
    if unknown:
        raise _fail(400, f"unknown config field(s) {sorted(unknown)}; known: {sorted(known)}")
    if "time_scale" in data:
        state.clock.set_time_scale(float(data["time_scale"]))
    if "url_ttl_s" in data:
        state.url_ttl_s = float(data["url_ttl_s"])
    if "poll_after_ms" in data:
        state.poll_after_ms = None if data["poll_after_ms"] is None else int(data["poll_after_ms"])
    for name, option in options.items():
        if name in data:
            try:
                state.options[name] = option.check(data[name])
            except ValueError as exc:
                raise _fail(400, str(exc)) from None
    if "disabled_endpoints" in data:
        state.disabled_endpoints = routing.disabled_endpoints(data["disabled_endpoints"])
    if "timeline" in data:
        state.default_timeline = state.default_timeline.updated(data["timeline"] or {})
    if "keys" in data:
        _set_keys(state, data["keys"])


def _set_keys(state: SimState, data: Any) -> None:
    if not isinstance(data, dict) or set(data) - set(apis.APIS):
        shape = ", ".join(f'"{api}": [...]' for api in apis.APIS)
        raise _fail(400, f"keys must look like {{{shape}}}")
    for api, keys in data.items():
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _fail(400, f"keys.{api} must be a list of strings")
        state.keys[api] = set(keys)


async def _keys(state: SimState, req: Request, segs: list[str]) -> Response:
    if len(segs) == 1 and req.method in ("PUT", "POST"):
        _set_keys(state, await _object(req))
    elif len(segs) == 2 and segs[1] == "revoke" and req.method == "POST":
        data = await _object(req)
        api = data.get("api")
        if api not in apis.APIS:
            raise _fail(400, f"api must be one of {tuple(apis.APIS)}")
        key = data.get("key")
        if key is None:
            state.keys[api].clear()
        else:
            state.keys[api].discard(str(key))
    elif not (len(segs) == 1 and req.method == "GET"):
        raise _fail(404, f"unknown control route {req.method} {req.raw_path}")
    return json_response(200, {api: sorted(keys) for api, keys in state.keys.items()})


def _rules_from(state: SimState, data: Any, default_api: str | None = None) -> list[FaultRule]:
    items = data.get("faults") if isinstance(data, dict) and "faults" in data else data
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise _fail(400, 'send a fault rule object, a list of them, or {"faults": [...]}')
    return [state.new_rule(item, default_api) for item in items]


async def _global_faults(state: SimState, req: Request, segs: list[str]) -> Response:
    method = req.method
    if len(segs) == 1:
        if method == "POST":
            for rule in _rules_from(state, await _body(req)):
                state.faults.add(rule)
        elif method == "DELETE":
            state.faults.clear()
        elif method != "GET":
            raise _fail(405, "use GET, POST or DELETE")
    elif len(segs) == 2 and method == "DELETE":
        if not state.faults.remove(_int(segs[1])):
            raise _fail(404, f"no global fault rule {segs[1]}")
    else:
        raise _fail(404, f"unknown control route {method} {req.raw_path}")
    return json_response(200, {"faults": [r.to_dict() for r in state.faults.rules]})


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _fail(404, f"not a rule id: {text!r}") from None


def _job(state: SimState, job_id: str) -> Job:
    job = state.jobs.get(job_id)
    if job is None:
        raise _fail(404, f"no job {job_id!r}")
    return job


async def _jobs(state: SimState, req: Request, segs: list[str]) -> Response:
    method = req.method
    base = req.host_url
    if len(segs) == 1:
        if method == "POST":
            job = _create(state, await _object(req))
            return json_response(201, job_view(state, job, base))
        if method == "GET":
            api = req.query.get("api")
            return json_response(200, {"jobs": [job_view(state, j, base) for j in state.jobs.all(api)]})
        raise _fail(405, "use GET or POST")
    job = _job(state, segs[1])
    if len(segs) == 2:
        if method == "GET":
            return json_response(200, job_view(state, job, base))
        if method in ("PATCH", "POST", "PUT"):
            data = await _object(req)
            unknown = set(data) - {"sim", "faults"}
            if unknown:
                raise _fail(
                    400, f"unknown field(s) {sorted(unknown)}: send {{'sim': {{...timeline}}, 'faults': [...]}}"
                )
            if data.get("sim"):
                job.timeline = job.timeline.updated(data["sim"])
            if data.get("faults"):
                job.faults.extend(_rules_from(state, data["faults"]))
            return json_response(200, job_view(state, job, base))
        if method == "DELETE":
            state.jobs.delete(job.id)
            return json_response(200, {"id": job.id, "deleted": True})
        raise _fail(405, "use GET, PATCH or DELETE")
    if len(segs) == 3 and segs[2] == "faults":
        if method == "POST":
            job.faults.extend(_rules_from(state, await _body(req)))
        elif method == "DELETE":
            job.faults.clear()
        elif method != "GET":
            raise _fail(405, "use GET, POST or DELETE")
        return json_response(200, {"faults": [r.to_dict() for r in job.faults]})
    raise _fail(404, f"unknown control route {method} {req.raw_path}")


def _create(state: SimState, data: dict[str, Any]) -> Job:
    """Create a job of any registered API directly (explicit ``id``/``id_style`` and ``faults`` allowed)."""
    api = data.pop("api", None)
    if api not in apis.APIS:
        raise _fail(400, f"api must be one of {tuple(apis.APIS)}")
    job_id = data.pop("id", None)
    id_style = data.pop("id_style", None)
    raw_faults = data.pop("faults", None)
    data.setdefault("prompt", "a simulated video")
    if job_id is not None and (not isinstance(job_id, str) or not job_id):
        raise _fail(400, "id must be a non-empty string")
    if job_id is not None and state.jobs.get(job_id) is not None:
        raise _fail(409, f"a job with id {job_id!r} already exists")
    try:
        job = apis.APIS[api].new_job(state, data, job_id, id_style)
    except InputError as exc:
        raise _fail(400, str(exc)) from None
    if raw_faults:
        job.faults.extend(_rules_from(state, raw_faults))
    state.jobs.add(job)
    return job


def job_view(state: SimState, job: Job, base_url: str) -> dict[str, Any]:
    """Control-side view of a job: phase, timeline, faults, and its vendor JSON right now."""
    now = state.clock.now()
    phase, progress = job.phase(now)
    timeline: Timeline = job.timeline
    vendor, paths = apis.APIS[job.api].view(state, job, base_url, now)
    return {
        "id": job.id,
        "api": job.api,
        "phase": phase,
        "progress": progress,
        "created_at": job.created,
        "timeline": timeline.to_dict(),
        "faults": [r.to_dict() for r in job.faults],
        "video_id": job.video_id or None,
        "paths": paths,
        "vendor": vendor,
    }
