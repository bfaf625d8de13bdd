"""What users type: job ids, connection hosts and API keys. Each is used correctly, or refused with a
message that says what is wrong and what to do, before any request that could go astray.

Ids and hosts are checked at the hook (the one place every task and trigger goes through) over the root
conftest's ``MockTransport`` (so the exact raw path on the wire is visible), and the important ones end
to end through the sensor, the trigger and the download operator against the simulator.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook
from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.http.settings import normalize_base_url
from airflow_provider_vidjobs.sensors.video_job import VideoJobSensor
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle

from ._harness import CANARY_KEY, DONE, PROVIDERS, QUICK, contract, make_context, new_job

TP_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def aihubmix_doc(job_id: str) -> dict[str, Any]:
    return {"id": job_id, "object": "video", "status": "in_progress", "progress": 5, "created_at": 1795446636}


def tensorpix_doc() -> dict[str, Any]:
    return {"id": TP_ID, "status": "processing", "progress": 5}


# ----- job ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job_id", "raw_path"),
    [
        pytest.param("abc/def+g==", "/v1/videos/abc%2Fdef%2Bg%3D%3D", id="slash-plus-equals"),
        pytest.param("../../v1/admin", "/v1/videos/..%2F..%2Fv1%2Fadmin", id="dot-dot-slash"),
        pytest.param("%2e%2e", "/v1/videos/%252e%252e", id="encoded-dot-dot"),
        pytest.param("%2F..%2Fadmin", "/v1/videos/%252F..%252Fadmin", id="encoded-slash"),
        pytest.param("a b", "/v1/videos/a%20b", id="inner-space"),
        pytest.param("  video_123\t", "/v1/videos/video_123", id="surrounding-whitespace"),
        pytest.param("vidéo-✓-日本", "/v1/videos/vid%C3%A9o-%E2%9C%93-%E6%97%A5%E6%9C%AC", id="unicode"),
        pytest.param("a?b#c", "/v1/videos/a%3Fb%23c", id="query-and-fragment"),
        pytest.param("...", "/v1/videos/...", id="three-dots"),
    ],
)
def test_an_opaque_id_is_one_path_segment(api: Any, connections: Any, job_id: str, raw_path: str) -> None:
    """Whatever an AIHubMix id contains, it cannot leave ``/v1/videos/`` nor add a query."""
    api.script(api.json(200, aihubmix_doc(job_id.strip())))
    AIHubMixHook().get_job(job_id)
    assert api.paths == [raw_path]


@pytest.mark.parametrize(
    ("job_id", "message"),
    [
        pytest.param("..", "'..' is not a aihubmix job id", id="dot-dot"),
        pytest.param(".", "'.' is not a aihubmix job id", id="dot"),
        pytest.param("", "job id is empty", id="empty"),
        pytest.param("   ", "job id is empty", id="blank"),
        pytest.param("a" * 10_240, "is 10240 characters long; ids are at most 1024", id="10KB"),
        pytest.param("abc\ndef", "contains a control character or line break", id="newline"),
        pytest.param("abc\r\nHost: evil", "contains a control character or line break", id="crlf-injection"),
        pytest.param(None, "was given (got None). If the id comes from a template or XCom", id="None"),
        pytest.param(12345, "must be a string, not int", id="int"),
        pytest.param({"id": "x"}, "must be a string, not dict", id="dict-without-job_id"),
        pytest.param(["video_1"], "must be a string, not list", id="list"),
    ],
)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unusable_id_is_refused_before_any_request(
    api: Any, connections: Any, provider: str, job_id: Any, message: str
) -> None:
    hook = hook_class(provider)()
    message = message.replace("aihubmix", hook.provider)
    with pytest.raises(ValueError, match=re.escape(message)):
        hook.get_job(job_id)
    assert api.requests == []


@pytest.mark.parametrize(
    "job_id",
    ["../../admin", "%2e%2e", "3c90c3cc/0d44", "not-a-uuid", "3c90c3cc-0d44-4b50-8888-8dd25736052a/../x"],
)
def test_a_tensorpix_id_must_be_a_uuid(api: Any, connections: Any, job_id: str) -> None:
    with pytest.raises(ValueError, match="is not a TensorPix job id: TensorPix ids are UUIDs like"):
        TensorPixHook().get_job(job_id)
    assert api.requests == []


@pytest.mark.parametrize(
    "spelling",
    [TP_ID.upper(), "{" + TP_ID + "}", "urn:uuid:" + TP_ID, TP_ID.replace("-", ""), f"  {TP_ID}\n"],
)
def test_a_tensorpix_uuid_in_any_spelling_is_canonical(api: Any, connections: Any, spelling: str) -> None:
    api.script(api.json(200, tensorpix_doc()))
    TensorPixHook().get_job(spelling)
    assert api.paths == [f"/api/video-gen/jobs/{TP_ID}/"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_string_none_from_a_template_is_refused_before_any_request(
    api: Any, connections: Any, provider: str
) -> None:
    """``{{ ti.xcom_pull(...) }}`` of nothing renders the text 'None': refused for every API with a hint
    about templates, rather than sent and answered 'no such job' (which points at the wrong cause)."""
    with pytest.raises(ValueError, match="rendered nothing") as info:
        hook_class(provider)().get_job("None")
    assert "upstream task pushed the id" in str(info.value)
    assert api.requests == []


def test_ids_with_slashes_and_unicode_work_end_to_end(sim: SimulatorHandle, run: Any) -> None:
    for job_id in ("abc/def+g==", "vidéo-✓-日本", "a b"):
        sim.control.create_job("aihubmix", id=job_id, sim=QUICK)
        outcome = run("poke", "aihubmix", job_id)
        assert outcome.ok, outcome.message
        assert outcome.value["job_id"] == job_id


# ----- templated values --------------------------------------------------------------------------


def render(sensor_job_id: Any, value: Any, native: bool) -> VideoJobSensor:
    """A sensor whose ``job_id`` template renders ``value`` as Airflow would (text or native objects)."""
    with DAG("inputs", start_date=dt.datetime(2025, 1, 1), schedule=None, render_template_as_native_obj=native) as dag:
        sensor = VideoJobSensor(
            task_id="wait", job_id=sensor_job_id, conn_id="tensorpix_default", poll_interval=0.05, timeout=10
        )
    sensor.render_template_fields({"params": {"job": value}}, jinja_env=dag.get_template_env())
    return sensor


@pytest.mark.parametrize("native", [False, True], ids=["text-rendering", "native-rendering"])
def test_an_upstream_videojob_xcom_rendered_into_job_id(sim: SimulatorHandle, leak_watch: Any, native: bool) -> None:
    """The sensor documents that an upstream ``VideoJob`` XCom works as ``job_id``. With Airflow's default
    text rendering, a dict arrives as its Python repr; with native rendering, as the dict."""
    job_id = new_job(sim, "tensorpix", QUICK)
    upstream = sim.control.job(job_id)
    xcom = {"schema_version": 1, "provider": "tensorpix", "job_id": upstream["id"], "status": "queued"}
    sensor = render("{{ params.job }}", xcom, native)
    assert isinstance(sensor.job_id, dict) is native
    context = make_context()
    result = sensor.execute(context)
    leak_watch.track("xcoms", context["ti"].xcoms)
    assert result["job_id"] == job_id
    assert result["status"] == "succeeded"


@pytest.mark.parametrize("native", [False, True], ids=["text-rendering", "native-rendering"])
def test_a_template_that_renders_none(native: bool, connections: Any, api: Any) -> None:
    sensor = render("{{ params.job }}", None, native)
    expected = "was given (got None)" if native else "a template or XCom rendered nothing"
    with pytest.raises(ValueError, match=re.escape(expected)):
        sensor.execute(make_context())
    assert api.requests == []


def test_the_download_operator_reads_a_rendered_xcom(sim: SimulatorHandle, run: Any, tmp_path: Path) -> None:
    job_id = new_job(sim, "aihubmix", DONE)
    rendered = repr({"schema_version": 1, "provider": "aihubmix", "job_id": job_id})
    outcome = run("download", "aihubmix", rendered)
    assert outcome.ok, outcome.message
    assert outcome.value["job_id"] == job_id


# ----- connection hosts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "schema", "port", "base"),
    [
        pytest.param("aihubmix.com", None, None, "https://aihubmix.com", id="no-scheme"),
        pytest.param("gw.internal:8443", None, None, "https://gw.internal:8443", id="no-scheme-port"),
        pytest.param("gw.internal", "http", 8080, "http://gw.internal:8080", id="schema-and-port-fields"),
        pytest.param("https://aihubmix.com/", None, None, "https://aihubmix.com", id="trailing-slash"),
        pytest.param("https://aihubmix.com///", None, None, "https://aihubmix.com", id="trailing-slashes"),
        pytest.param("https://gw.example.com/openai/v1/", None, None, "https://gw.example.com/openai/v1", id="path"),
        pytest.param("  https://aihubmix.com  ", None, None, "https://aihubmix.com", id="surrounding-spaces"),
        pytest.param("HTTPS://AIHubMix.com", None, None, "https://AIHubMix.com", id="capitals"),
        pytest.param("", None, None, "https://aihubmix.com", id="empty-means-default"),
    ],
)
def test_hosts_are_normalized(host: str, schema: str | None, port: int | None, base: str) -> None:
    assert normalize_base_url(host, "https://aihubmix.com", scheme=schema, port=port) == base


@pytest.mark.parametrize(
    ("host", "message"),
    [
        pytest.param("ftp://files.example.com", "is not an http(s) URL", id="ftp"),
        pytest.param("https://", "is not an http(s) URL", id="no-host"),
        pytest.param("https://gw.example.com/v1?key=1", "must not have a query string", id="query"),
        pytest.param("https://gw.example.com/#x", "must not have a query string or fragment", id="fragment"),
        pytest.param("https://gw example.com", "contains whitespace", id="inner-space"),
        pytest.param("https://gw.example.com\n/v1", "contains whitespace", id="newline"),
    ],
)
def test_unusable_hosts_are_refused(api: Any, connections: Any, host: str, message: str) -> None:
    connections("aihubmix_default", "aihubmix", host=host)
    with pytest.raises(ValueError, match=re.escape(message)):
        AIHubMixHook().get_job("video_1")
    assert api.requests == []


@pytest.mark.parametrize(
    ("hook_class", "host", "job_id", "url"),
    [
        pytest.param(
            AIHubMixHook,
            "gw.example.com/openai/v1/",
            "vid/1",
            "https://gw.example.com/openai/v1/videos/vid%2F1",
            id="aihubmix-gateway-with-v1",
        ),
        pytest.param(
            AIHubMixHook,
            "https://gw.example.com/openai",
            "v1",
            "https://gw.example.com/openai/v1/videos/v1",
            id="aihubmix-prefix",
        ),
        pytest.param(
            TensorPixHook,
            "https://proxy.example.com/tp/",
            TP_ID,
            f"https://proxy.example.com/tp/api/video-gen/jobs/{TP_ID}/",
            id="tensorpix-prefix",
        ),
    ],
)
def test_a_host_with_a_path_keeps_it_and_gets_the_key(
    api: Any, connections: Any, hook_class: type, host: str, job_id: str, url: str
) -> None:
    conn_type = "aihubmix" if hook_class is AIHubMixHook else "tensorpix"
    connections(f"{conn_type}_default", conn_type, host=host)
    api.script(api.json(200, aihubmix_doc(job_id) if conn_type == "aihubmix" else tensorpix_doc()))
    hook_class().get_job(job_id)
    assert str(api.requests[0].url) == url
    assert api.requests[0].headers["Authorization"].endswith(CANARY_KEY)


def test_a_host_without_scheme_with_the_http_schema_reaches_the_simulator(
    sim: SimulatorHandle, define_connection: Any, run: Any
) -> None:
    host_port = sim.url.removeprefix("http://")
    define_connection("bare", "tensorpix", host_port, schema="http")
    job_id = new_job(sim, "tensorpix", QUICK)
    outcome = run("poke", "tensorpix", job_id, conn_id="bare")
    assert outcome.ok, outcome.message


# ----- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", [f"  {CANARY_KEY}  ", f"{CANARY_KEY}\n", f"\t{CANARY_KEY}\r\n", f"\u00a0{CANARY_KEY}"]
)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_surrounding_whitespace_around_the_key_is_stripped(
    api: Any, connections: Any, provider: str, typed: str
) -> None:
    facts = contract(provider)
    connections(facts.conn_id, provider, password=typed)
    api.script(api.json(200, facts.example()))
    hook = hook_class(provider)()
    hook.get_job(facts.facts.sample_id)
    header = api.requests[0].headers["Authorization"]
    assert header == f"{hook.auth_scheme} {CANARY_KEY}"  # exactly: no newline, no space, nothing else


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        pytest.param(f"{CANARY_KEY}\nX-Evil: 1", "contains a line break or control character", id="header-injection"),
        pytest.param(
            f"{CANARY_KEY[:10]}\n{CANARY_KEY[10:]}", "contains a line break or control character", id="wrapped"
        ),
        pytest.param(f"{CANARY_KEY}\x7f", "contains a line break or control character", id="del"),
        pytest.param(f"{CANARY_KEY}\u200b", "U+200B", id="zero-width-space"),
        pytest.param(f"{CANARY_KEY[:10]}\u00a0{CANARY_KEY[10:]}", "U+00A0", id="inner-nbsp"),
        pytest.param(f"{CANARY_KEY[:10]} {CANARY_KEY[10:]}", "U+0020", id="inner-space"),
        pytest.param(f"\u201c{CANARY_KEY}\u201d", "U+201C", id="smart-quotes"),
        pytest.param("", "has no API key", id="empty"),
        pytest.param(" \n ", "has no API key", id="blank"),
    ],
)
@pytest.mark.parametrize("path", ["hook", "trigger"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unusable_key_is_refused_clearly_and_never_sent(
    api: Any, connections: Any, run: Any, leak_watch: Any, typed: str, message: str, path: str, provider: str
) -> None:
    facts = contract(provider)
    connections(facts.conn_id, provider, password=typed)
    if path == "hook":
        with pytest.raises(ValueError, match=re.escape(message)) as info:
            hook_class(provider)().get_job(facts.facts.sample_id)
        error: BaseException = info.value
    else:
        outcome = run("trigger", provider, facts.facts.sample_id)
        assert outcome.event is not None
        assert outcome.event["outcome"] == "error"
        assert outcome.error is not None
        error = outcome.error
    leak_watch.track("error", error)
    assert message in str(error)
    assert f"connection '{facts.conn_id}'" in str(error) or f"Connection '{facts.conn_id}'" in str(error)
    assert api.requests == []
