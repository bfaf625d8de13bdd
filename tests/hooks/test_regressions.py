"""Regression tests for review findings: key scoping, null extras, header case, whitespace hosts, echoed keys."""

from __future__ import annotations

import pytest

from airflow_provider_vidjobs.exceptions import AuthenticationError
from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.http.responses import parse_retry_after
from airflow_provider_vidjobs.http.settings import normalize_base_url, settings_from_connection

CANARY_KEY = "canary-sk-7f3a9c2e41d84b6f9a0c5e13d7b2"
TP_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
pytestmark = pytest.mark.usefixtures("connections")


# BUG 1: base.py _ApiKeyAuth compares the request's normalized netloc with the base URL as typed.
@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("https://Backend.TensorPix.ai", None),  # httpx lowercases the host
        ("https://backend.tensorpix.ai:443", None),  # httpx drops the default port
        ("backend.tensorpix.ai", 443),  # the connection's Port field
        ("http://localhost:80", None),
    ],
)
def test_key_is_sent_whatever_the_case_or_default_port_of_the_host(api, connections, host, port):
    connections("tensorpix_default", "tensorpix", host=host, port=port)
    api.script(api.json(200, {"id": TP_ID, "status": "processing"}))
    TensorPixHook().get_job(TP_ID)
    assert api.requests[0].headers.get("Authorization") == f"Token {CANARY_KEY}"


# BUG 2: settings.py reads extra.get("timeout", DEFAULT) etc.; a null (what the Airflow 3 UI stores when a
# number field is cleared, and what provider_info's ["number", "null"] schema allows) is refused.
@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "verify", "max_attempts", "ca_bundle", "proxy"])
def test_null_extras_mean_the_default(name):
    settings = settings_from_connection(
        conn_id="c",
        provider="tensorpix",
        default_base_url="https://backend.tensorpix.ai",
        host=None,
        schema=None,
        port=None,
        password=CANARY_KEY,
        extra={name: None},
    )
    assert (settings.timeout, settings.connect_timeout, settings.verify) == (30.0, 10.0, True)


# BUG 3: the Retry-After parser's _header (http/responses.py) tried name then name.lower(), both already
# lowercase: plain dicts with the standard spelling "Retry-After" are ignored.
def test_parse_retry_after_reads_a_plain_dict_in_any_case():
    assert parse_retry_after({"Retry-After": "30"}) == 30.0
    assert parse_retry_after({"Retry-After-Ms": "1500"}) == 1.5


# BUG 4: settings.py normalize_base_url accepts a host with whitespace inside.
@pytest.mark.parametrize("host", ["bad host", "https://api.example .com", "api.example.com\tx"])
def test_host_with_whitespace_is_refused(host):
    with pytest.raises(ValueError, match="connection host"):
        normalize_base_url(host, "https://aihubmix.com")


# BUG 5 (hardening): a vendor error body that echoes the key puts it in the exception text.
def test_a_vendor_message_echoing_the_key_is_redacted(api):
    api.script(api.json(401, {"error": {"message": f"Incorrect API key provided: {CANARY_KEY}"}}))
    with pytest.raises(AuthenticationError) as info:
        AIHubMixHook().get_job("video_1")
    assert CANARY_KEY not in str(info.value)
