"""The list endpoints as the vendors document them (issue 22): OpenAI's cursor page on AIHubMix's
``GET /v1/videos``, Replicate's ``GET /v1/predictions`` (newest first, 100 a page, cursor URLs, date
filters), and a server configured without a list route (a gateway that lacks it) answering 404 or 405."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from airflow_provider_vidjobs.testing.simulator import SimulatorConfig, SimulatorHandle
from airflow_provider_vidjobs.testing.simulator.apis import APIS
from airflow_provider_vidjobs.testing.simulator.apis.replicate import DEFAULT_KEY as REPLICATE_KEY
from airflow_provider_vidjobs.testing.simulator.cli import build_parser, config_from_args
from airflow_provider_vidjobs.testing.simulator.control import ControlError
from airflow_provider_vidjobs.testing.simulator.state import SimState

from .conftest import ah_auth

RAUTH = {"Authorization": f"Bearer {REPLICATE_KEY}"}


def _make(sim: SimulatorHandle, api: str, n: int) -> list[str]:
    """``n`` jobs of ``api``, oldest first."""
    return [sim.control.create_job(api)["id"] for _ in range(n)]


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


# ----- AIHubMix: OpenAI's cursor page ------------------------------------------------------------


def test_videos_list_order_and_shape(sim: SimulatorHandle, http: httpx.Client) -> None:
    ids = _make(sim, "aihubmix", 3)
    newest_first = http.get("/v1/videos", headers=ah_auth(sim)).json()
    assert [v["id"] for v in newest_first["data"]] == ids[::-1]
    assert newest_first["object"] == "list"
    assert (newest_first["first_id"], newest_first["last_id"], newest_first["has_more"]) == (ids[2], ids[0], False)
    assert newest_first["data"][0]["object"] == "video"
    asc = http.get("/v1/videos", params={"order": "asc"}, headers=ah_auth(sim)).json()
    assert [v["id"] for v in asc["data"]] == ids


def test_videos_list_limit_bounds(sim: SimulatorHandle, http: httpx.Client) -> None:
    _make(sim, "aihubmix", 25)
    default = http.get("/v1/videos", headers=ah_auth(sim)).json()
    assert (len(default["data"]), default["has_more"]) == (20, True)
    for limit, count in (("0", 0), ("1", 1), ("100", 25)):
        page = http.get("/v1/videos", params={"limit": limit}, headers=ah_auth(sim))
        assert page.status_code == 200
        assert len(page.json()["data"]) == count
    for bad in ("-1", "101", "ten", "2.5"):
        resp = http.get("/v1/videos", params={"limit": bad}, headers=ah_auth(sim))
        assert resp.status_code == 400
        assert resp.json()["error"]["param"] == "limit"
    resp = http.get("/v1/videos", params={"order": "newest"}, headers=ah_auth(sim))
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "order"


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_videos_list_pages_cover_every_job_once(sim: SimulatorHandle, http: httpx.Client, order: str) -> None:
    ids = _make(sim, "aihubmix", 45)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 20, "order": order}
    while True:
        page = http.get("/v1/videos", params=params, headers=ah_auth(sim)).json()
        seen += [v["id"] for v in page["data"]]
        if not page["has_more"]:
            break
        params["after"] = page["last_id"]
    assert seen == (ids[::-1] if order == "desc" else ids)


def test_videos_list_needs_the_key(http: httpx.Client) -> None:
    assert http.get("/v1/videos").status_code == 401


# ----- Replicate: {next, previous, results} ------------------------------------------------------


def _pages(http: httpx.Client, url: str, link: str = "next") -> list[dict[str, Any]]:
    pages = []
    while url:
        resp = http.get(url, headers=RAUTH)
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        url = pages[-1][link]
    return pages


def test_predictions_list_shape_and_order(sim: SimulatorHandle, http: httpx.Client) -> None:
    ids = _make(sim, "replicate", 3)
    body = http.get("/v1/predictions", headers=RAUTH).json()
    assert set(body) == {"next", "previous", "results"}
    assert (body["next"], body["previous"]) == (None, None)
    assert [p["id"] for p in body["results"]] == ids[::-1]
    item = body["results"][0]
    assert item["source"] == "api"
    assert "logs" not in item  # as the documented list example
    detail = http.get(f"/v1/predictions/{ids[-1]}", headers=RAUTH).json()
    assert {k: v for k, v in detail.items() if k != "logs"} == {k: v for k, v in item.items() if k != "source"}


def test_predictions_list_pages_of_100_by_cursor(sim: SimulatorHandle, http: httpx.Client) -> None:
    ids = _make(sim, "replicate", 230)
    pages = _pages(http, f"{sim.url}/v1/predictions")
    assert [len(p["results"]) for p in pages] == [100, 100, 30]
    assert [p["id"] for page in pages for p in page["results"]] == ids[::-1]
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None
    assert "cursor=" in pages[0]["next"]
    # walking back from the last page gives the same pages, in reverse
    back = _pages(http, pages[-1]["previous"], link="previous")
    assert [[p["id"] for p in page["results"]] for page in back] == [
        [p["id"] for p in page["results"]] for page in pages[-2::-1]
    ]


def test_predictions_created_between_reads_do_not_shift_pages(sim: SimulatorHandle, http: httpx.Client) -> None:
    ids = _make(sim, "replicate", 150)
    first = http.get("/v1/predictions", headers=RAUTH).json()
    newer = _make(sim, "replicate", 5)
    second = http.get(first["next"], headers=RAUTH).json()
    seen = [p["id"] for p in first["results"] + second["results"]]
    assert seen == ids[::-1]
    assert not set(newer) & set(seen)
    back = http.get(second["previous"], headers=RAUTH).json()
    assert [p["id"] for p in back["results"]] == [p["id"] for p in first["results"]]
    assert back["previous"] is not None  # the five newer predictions lie before it now
    assert [p["id"] for p in http.get(back["previous"], headers=RAUTH).json()["results"]] == newer[::-1]


def test_predictions_created_after_and_before(sim: SimulatorHandle, http: httpx.Client) -> None:
    jobs = []
    for _ in range(3):
        jobs.append(sim.control.create_job("replicate"))
        sim.control.advance_clock(10)
    ids = [j["id"] for j in jobs]
    mid = _iso(jobs[1]["created_at"] - 5)  # between the first and the second
    after = http.get("/v1/predictions", params={"created_after": mid}, headers=RAUTH).json()
    assert [p["id"] for p in after["results"]] == ids[:0:-1]
    before = http.get("/v1/predictions", params={"created_before": mid}, headers=RAUTH).json()
    assert [p["id"] for p in before["results"]] == ids[:1]
    window = {"created_after": mid, "created_before": _iso(jobs[2]["created_at"] - 5)}
    both = http.get("/v1/predictions", params=window, headers=RAUTH).json()
    assert [p["id"] for p in both["results"]] == [ids[1]]
    zulu = _iso(jobs[0]["created_at"] - 1).replace("+00:00", "Z")
    assert len(http.get("/v1/predictions", params={"created_after": zulu}, headers=RAUTH).json()["results"]) == 3


def test_predictions_filters_travel_in_the_cursor_urls(sim: SimulatorHandle, http: httpx.Client) -> None:
    sim.control.create_job("replicate")
    sim.control.advance_clock(10)
    recent = _make(sim, "replicate", 120)
    since = _iso(sim.control.job(recent[0])["created_at"] - 5)
    pages = _pages(http, f"{sim.url}/v1/predictions?{httpx.QueryParams({'created_after': since})}")
    assert "created_after=" in pages[0]["next"]
    assert [p["id"] for page in pages for p in page["results"]] == recent[::-1]


def test_predictions_list_errors(sim: SimulatorHandle, http: httpx.Client) -> None:
    bad_date = http.get("/v1/predictions", params={"created_after": "yesterday"}, headers=RAUTH)
    assert bad_date.status_code == 400
    assert bad_date.headers["content-type"] == "application/problem+json"
    assert "created_after" in bad_date.json()["detail"]
    bad_cursor = http.get("/v1/predictions", params={"cursor": "not-a-cursor"}, headers=RAUTH)
    assert bad_cursor.status_code == 404
    assert bad_cursor.json()["detail"] == "Invalid cursor"
    assert http.get("/v1/predictions").status_code == 401
    assert http.put("/v1/predictions", headers=RAUTH).status_code == 405


# ----- a server without the list route ----------------------------------------------------------


@pytest.mark.parametrize("api", [name for name, spec in APIS.items() if spec.contract.list_endpoint])
def test_a_disabled_list_answers_the_vendors_404(sim: SimulatorHandle, http: httpx.Client, api: str) -> None:
    endpoint = APIS[api].contract.list_endpoint
    assert endpoint is not None
    path = endpoint.partition(" ")[2]
    auth = ah_auth(sim) if api == "aihubmix" else RAUTH
    assert http.get(path, headers=auth).status_code == 200
    assert sim.control.disable_endpoints(endpoint) == {endpoint: 404}
    gone = http.get(path, headers=auth)
    assert gone.status_code == 404
    assert gone.json() == APIS[api].status_error(404, None).payload  # the API's own 404 body
    assert sim.control.stats()["endpoints"][endpoint]["statuses"] == {"200": 1, "404": 1}
    sim.control.create_job(api)  # the rest of the API still works
    sim.control.enable_endpoints()
    assert http.get(path, headers=auth).status_code == 200


def test_a_disabled_list_can_answer_405_and_leaves_create(sim: SimulatorHandle, http: httpx.Client) -> None:
    sim.control.disable_endpoints("GET /v1/videos", status=405)
    assert http.get("/v1/videos", headers=ah_auth(sim)).status_code == 405
    assert http.post("/v1/videos", json={"prompt": "p"}, headers=ah_auth(sim)).status_code == 200
    assert sim.control.config()["disabled_endpoints"] == {"GET /v1/videos": 405}
    sim.control.reset()
    assert sim.control.config()["disabled_endpoints"] == {}


@pytest.mark.parametrize("value", [["videos"], {"GET /v1/videos": 200}, {"GET /v1/videos": "404"}, "GET /v1/videos", 5])
def test_bad_disabled_endpoints_are_refused(sim: SimulatorHandle, value: Any) -> None:
    with pytest.raises(ControlError, match="400"):
        sim.control.set_config(disabled_endpoints=value)


def test_disabled_endpoints_at_start_up_and_from_the_cli() -> None:
    cfg = SimulatorConfig(disabled_endpoints=["GET /v1/predictions"])
    assert SimState(cfg).disabled_endpoints == {"GET /v1/predictions": 404}
    ns = build_parser().parse_args(["--disable-endpoint", "GET /v1/videos=405", "--disable-endpoint", "/v1/x"])
    assert SimState(config_from_args(ns)).disabled_endpoints == {"GET /v1/videos": 405, "/v1/x": 404}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--disable-endpoint", "GET /v1/videos=ok"])
