"""The credentials inside pre-signed URLs: each documented one is found and masked, nothing else is.

``SECRET_QUERY_PARAMS`` documents which query parameters are credentials (generic ``signature``, Azure SAS
``sig``, S3 ``X-Amz-*``, GCS ``X-Goog-*``, CloudFront ``Signature``/``Policy``, bearer tokens). The list
below is written out by hand from the vendors' documentation, not read from the module, so a name that
drops out of the module's set fails here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_vidjobs import url_secrets
from airflow_provider_vidjobs.models import GeneratedVideo, JobStatus, VideoJob

SECRET = "Zm9vYmFyYmF6cXV4MTIzNDU2"  # long enough to be registered with the masker

#: Every credential a pre-signed URL of a storage we know carries in its query, as the vendor spells it.
CREDENTIAL_PARAMS = [
    "signature",  # TensorPix, generic
    "Signature",  # CloudFront
    "sig",  # Azure SAS
    "X-Amz-Signature",  # S3 SigV4
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Goog-Signature",  # GCS V4
    "X-Goog-Credential",
    "x-goog-credential",
    "Policy",  # CloudFront custom policy
    "token",
    "access_token",
]

#: Query parameters of the same URLs that are not credentials: they stay readable.
PUBLIC_PARAMS = ["X-Amz-Algorithm", "X-Amz-Expires", "X-Goog-Date", "Expires", "variant", "se", "sp", "sv"]


def url_with(name: str, value: str = SECRET) -> str:
    return f"https://storage.example.com/bucket/video.mp4?variant=full&{name}={value}&expires=1795450236"


@pytest.mark.parametrize("name", CREDENTIAL_PARAMS)
def test_each_credential_parameter_is_registered(name: str) -> None:
    assert url_secrets.secrets_of(url_with(name)) == [SECRET]


@pytest.mark.parametrize("name", CREDENTIAL_PARAMS)
def test_each_credential_parameter_is_masked_in_text(name: str) -> None:
    text = f'{{"file": "{url_with(name)}", "status": "completed"}}'
    masked = url_secrets.mask_in_text(text)
    assert SECRET not in masked
    assert f"{name}=***&expires=1795450236" in masked  # only the value: the rest of the URL stays readable
    assert masked.replace("***", SECRET) == text


@pytest.mark.parametrize("name", PUBLIC_PARAMS)
def test_parameters_that_are_not_credentials_stay_readable(name: str) -> None:
    url = url_with(name)
    assert url_secrets.secrets_of(url) == []
    assert url_secrets.mask_in_text(url) == url


def test_a_percent_encoded_parameter_name_is_still_a_credential() -> None:
    assert url_secrets.secrets_of(url_with("X%2DAmz%2DSignature")) == [SECRET]


def test_an_encoded_value_is_registered_both_as_written_and_decoded() -> None:
    """The log may show either form: the URL as sent, or a library's decoded view of it."""
    assert url_secrets.secrets_of(url_with("X-Goog-Credential", "svc%40proj.iam%2F20260101%2Fauto")) == [
        "svc%40proj.iam%2F20260101%2Fauto",
        "svc@proj.iam/20260101/auto",
    ]


def test_short_values_are_not_registered() -> None:
    """Registering ``1`` would turn every ``1`` in every log line into ``***``."""
    assert url_secrets.secrets_of(url_with("sig", "abc")) == []
    assert url_secrets.secrets_of(url_with("sig", "")) == []
    assert url_secrets.secrets_of(url_with("sig", "abcd1234")) == ["abcd1234"]  # a short real key still counts


@pytest.mark.parametrize("url", [None, "", "https://cdn.example.com/v.mp4", "https://cdn.example.com/v.mp4?"])
def test_urls_without_a_query_have_no_secrets(url: str | None) -> None:
    assert url_secrets.secrets_of(url) == []


def test_a_fragment_is_not_part_of_a_credential() -> None:
    assert url_secrets.secrets_of(f"https://cdn.example.com/v.mp4?sig={SECRET}#t=10") == [SECRET]
    assert url_secrets.mask_in_text(f"https://cdn.example.com/v.mp4?sig={SECRET}#t=10").endswith("sig=***#t=10")


@pytest.mark.parametrize("host", ["[::1", "[not-an-ip]", "[::1]:99999999"])
def test_a_url_urlsplit_rejects_still_has_its_credential_found(host: str) -> None:
    """A vendor's malformed URL is no reason to log its signature (nor to fail the task)."""
    url = f"https://{host}/v.mp4?signature={SECRET}"
    assert SECRET in url_secrets.secrets_of(url)
    event = {"status": "succeeded", "job": {"video": {"url": url, "thumbnail_url": None}}}
    assert SECRET not in repr(url_secrets.without_url_secrets(event))


def job_with(url: str | None, thumbnail: str | None) -> VideoJob:
    video = GeneratedVideo(url=url, thumbnail_url=thumbnail) if url else None
    return VideoJob(provider="tensorpix", job_id="j1", status=JobStatus.SUCCEEDED, video=video)


def test_a_jobs_secrets_come_from_its_video_and_its_thumbnail() -> None:
    job = job_with(url_with("sig", "video-signature"), url_with("X-Amz-Signature", "thumb-signature"))
    assert url_secrets.secrets_of_job(job) == ["video-signature", "thumb-signature"]
    assert url_secrets.secrets_of_job(job_with(None, None)) == []


def test_register_job_hands_each_secret_to_airflows_masker(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat import sdk

    registered: list[str] = []
    monkeypatch.setattr(sdk, "mask_secret", registered.append)
    url_secrets.register_job(job_with(url_with("sig", "video-signature"), url_with("token", "thumb-token-1")))
    assert registered == ["video-signature", "thumb-token-1"]
    registered.clear()
    url_secrets.register_job(job_with("https://cdn.example.com/v.mp4", None))
    assert registered == []


def event_with(url: Any, thumbnail: Any) -> dict[str, Any]:
    return {"status": "succeeded", "job": {"job_id": "j1", "video": {"url": url, "thumbnail_url": thumbnail}}}


def test_an_event_with_signed_urls_loses_their_secrets_and_asks_for_a_reread() -> None:
    event = event_with(url_with("sig"), url_with("X-Goog-Signature", "thumbnail-signature"))
    before = copy.deepcopy(event)
    cleaned = url_secrets.without_url_secrets(event)
    assert event == before  # the caller's event is not edited in place
    assert cleaned[url_secrets.REREAD_KEY] is True
    video = cleaned["job"]["video"]
    assert video["url"] == url_with("sig", "***")
    assert video["thumbnail_url"] == url_with("X-Goog-Signature", "***")
    assert cleaned["job"]["job_id"] == "j1"
    assert cleaned["status"] == "succeeded"


def test_only_a_signed_url_is_rewritten_in_an_event() -> None:
    cleaned = url_secrets.without_url_secrets(event_with(None, url_with("token")))
    assert cleaned["job"]["video"] == {"url": None, "thumbnail_url": url_with("token", "***")}
    assert cleaned[url_secrets.REREAD_KEY] is True


@pytest.mark.parametrize(
    "event",
    [
        {"status": "succeeded"},
        {"status": "succeeded", "job": None},
        {"status": "succeeded", "job": {"video": None}},
        {"status": "succeeded", "job": {"video": "https://cdn.example.com/v.mp4?sig=" + SECRET}},
        event_with("https://cdn.example.com/v.mp4", None),
        event_with(None, 42),
    ],
)
def test_an_event_without_signed_urls_is_returned_as_it_is(event: dict[str, Any]) -> None:
    assert url_secrets.without_url_secrets(event) is event
