"""Fuzzing every registered wire parser: whatever a server sends, a poll ends in a ``VideoJob`` or an
``InvalidResponseError``.

Three kinds of input, each against every registered API (``_harness.PROVIDERS``):

- arbitrary JSON (any nesting, NaN and infinities, huge integers, odd strings);
- mutations of real documents: the vendors' reference examples (``tests/fixtures/*.json``) and complete
  documents as the simulator serves them (queued, running, completed, failed): keys deleted, nulled,
  retyped, numbers turned into strings, values replaced by arbitrary JSON, extra keys added;
- the full HTTP path (``get_job`` and ``aget_job`` through ``httpx.MockTransport``) with those documents
  and with arbitrary bytes as the body of a 200.

A ``VideoJob`` that comes out must also survive what the provider does next with it: ``to_xcom()`` as
strict JSON (no NaN: PostgreSQL's JSONB refuses it), ``from_xcom`` back to an equal job, and ``summary()``.

Budget: ``VIDJOBS_FUZZ_EXAMPLES`` examples per property (default 200, what CI runs). A long run:

    VIDJOBS_FUZZ_EXAMPLES=20000 /work/venv/bin/python -m pytest tests/hardening/test_fuzz.py -q
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pytest_mock import MockerFixture

from airflow_provider_vidjobs.exceptions import InvalidResponseError, VideoAPIError
from airflow_provider_vidjobs.hooks.base import VideoJobHook
from airflow_provider_vidjobs.hooks.registry import hook_class
from airflow_provider_vidjobs.models import VideoJob

from ._harness import PROVIDERS, contract

EXAMPLES = int(os.environ.get("VIDJOBS_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    # One example must never take long: a parser that loops or backtracks shows up as DeadlineExceeded.
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
    print_blob=True,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TP_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
AHM_ID = "5fWV19OuBTZ4Uh6PkLTb8491Ys1/SdrYAJjsi+xp7jam1crb04v/oA=="
STORAGE = "https://storage.example.com/_storage/tensorpix"

# ----- real documents ----------------------------------------------------------------------------

TENSORPIX_DOCS: list[dict[str, Any]] = [
    json.loads((FIXTURES / "tensorpix_get_video_gen_job.json").read_text()),
    {  # completed, as the simulator (and the reference page) shape it
        "id": TP_ID,
        "prompt": "a red fox running through snow",
        "type": "t2v",
        "status": "completed",
        "cost": "2.50",
        "model": "tensorpix-video-gen-1",
        "generated_video": {
            "id": "ed57764e-61a7-4e59-87c0-af8ae4cbdd11",
            "name": "generated_ed57764e.mp4",
            "created_at": "2026-11-23T15:10:36.817657Z",
            "job": TP_ID,
            "uploaded_video": None,
            "width": 160,
            "height": 90,
            "n_frames": 24,
            "framerate": 12.0,
            "size": 8092,
            "file": f"{STORAGE}/{TP_ID}/ed57764e.mp4?expires=1795450236&signature=3742f4",
            "thumbnail": f"{STORAGE}/{TP_ID}/ed57764e.jpg?expires=1795450236&signature=2ae8d3",
        },
        "input_images": [{"id": TP_ID, "file": "https://cdn.example.com/in.png", "name": "in.png"}],
        "progress": 100.0,
        "started_at": "2026-11-23T15:10:36.817657Z",
        "options": {"seed": 7, "resolution": "720p"},
    },
    {
        "id": TP_ID,
        "prompt": "a simulated video",
        "type": "i2v",
        "status": "IN_QUEUE",
        "cost": "2.50",
        "model": "tensorpix-video-gen-1",
        "generated_video": None,
        "input_images": [],
        "progress": 0.0,
        "started_at": None,
        "options": {},
    },
    {
        "id": TP_ID,
        "prompt": "a simulated video",
        "type": "t2v",
        "status": "failed",
        "cost": "0",
        "model": "tensorpix-video-gen-1",
        "generated_video": None,
        "input_images": [],
        "progress": 37.5,
        "started_at": "2026-11-23T15:10:36Z",
        "options": None,
        "error": {"code": "nsfw", "message": "blocked"},
    },
]

AIHUBMIX_DOCS: list[dict[str, Any]] = [
    json.loads((FIXTURES / "aihubmix_retrieve_video.json").read_text()),
    {
        "id": AHM_ID,
        "object": "video",
        "model": "sora-2",
        "status": "completed",
        "progress": 100,
        "created_at": 1795446636,
        "completed_at": 1795446700,
        "expires_at": 1795533036,
        "prompt": "a simulated video",
        "size": "720x1280",
        "seconds": "4",
        "remixed_from_video_id": None,
        "error": None,
        "quality": "standard",
        "duration": 4,
        "width": 720,
        "height": 1280,
    },
    {
        "id": AHM_ID,
        "object": "video",
        "model": "veo-3",
        "status": "in_progress",
        "progress": 42,
        "created_at": 1795446636,
        "completed_at": None,
        "expires_at": None,
        "prompt": "a simulated video",
        "size": "1080p",
        "seconds": 8,
        "remixed_from_video_id": "video_abc",
        "error": None,
    },
    {
        "id": AHM_ID,
        "object": "video",
        "model": "sora-2",
        "status": "failed",
        "progress": 0,
        "created_at": 1795446636,
        "completed_at": 1795446636,
        "expires_at": None,
        "prompt": "a simulated video",
        "size": "720x1280",
        "seconds": "4",
        "remixed_from_video_id": None,
        "error": {"code": "generation_failed", "message": "The video could not be generated."},
    },
]

#: Hand-written documents per API, beyond the example document its simulator module names (in tests/fixtures).
VARIANTS = {"tensorpix": TENSORPIX_DOCS[1:], "aihubmix": AIHUBMIX_DOCS[1:]}
#: Every registered API's documents: its example document, then its variants (if any).
DOCS = {p: [json.loads((FIXTURES / contract(p).fixture).read_text()), *VARIANTS.get(p, [])] for p in PROVIDERS}
#: A job id of each registered API (the one its documents carry).
IDS = {p: contract(p).facts.sample_id for p in PROVIDERS}

KNOWN_KEYS = sorted(
    {key for docs in DOCS.values() for doc in docs for key in doc}
    | {key for doc in TENSORPIX_DOCS if isinstance(doc.get("generated_video"), dict) for key in doc["generated_video"]}
    | {"error_message", "failure_reason", "detail", "error_code", "code", "message"}
)

# ----- strategies --------------------------------------------------------------------------------

ODD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "<string>",
        "<unknown>",
        "null",
        "None",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "1e400",
        "-1",
        "12.5",
        " 42 ",
        "0x10",
        "1_000",
        "٣",  # an Arabic-Indic digit: float() accepts it
        "2023-11-07T05:31:56Z",
        "2023-11-07T05:31:56.123456+05:30",
        "9999-12-31T23:59:59",
        "0001-01-01T00:00:00",
        "1280x720",
        "720P",
        "99999x99999",
        "COMPLETED",
        "In Progress",
        "in-progress",
        "DONE",
        "failed",
        "cancelled",
        "\x00",
        "\u202e",
        "a" * 5000,
    ]
)
#: Numbers at the edges: beyond float range (10**400 raised OverflowError), the smallest denormal (a frame
#: rate that makes a duration infinite), the largest float, negative zero.
EDGE_NUMBERS = st.sampled_from([10**400, -(10**400), 2**1024, 5e-324, -5e-324, 1.7976931348623157e308, -0.0, 0.0])
#: Integers with no bound at all (hypothesis draws big ones too, up to thousands of bits).
HUGE_INTEGERS = st.integers(min_value=2**1023, max_value=10**1000) | st.integers(max_value=-(2**1023))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | HUGE_INTEGERS
    | EDGE_NUMBERS
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | ODD_STRINGS
)
KEYS = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=24,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a document (dict keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    return _get(doc, path[:-1])


def _as_string(value: Any) -> Any:
    """The drift gateways produce: numbers (and booleans) as strings."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


@st.composite
def mutated(draw: st.DrawFn, docs: list[dict[str, Any]]) -> Any:
    """A real document with 1-6 random edits."""
    doc = copy.deepcopy(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        op = draw(st.sampled_from(["delete", "null", "replace", "stringify", "add", "odd", "retype"]))
        if op == "add":  # a new key, at the top or in a nested object
            objects = [doc, *(_get(doc, p) for p in _paths(doc) if isinstance(_get(doc, p), dict))]
            target = draw(st.sampled_from(objects))
            if isinstance(target, dict):
                target[draw(KEYS)] = draw(JSON)
            continue
        paths = _paths(doc)
        if not paths:
            doc = draw(JSON)
            continue
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        if op == "delete":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        elif op == "null":
            parent[key] = None
        elif op == "replace":
            parent[key] = draw(JSON)
        elif op == "stringify":
            parent[key] = _as_string(parent[key])
        elif op == "odd":
            parent[key] = draw(ODD_STRINGS)
        else:  # retype: the same value wrapped, or a container flattened
            value = parent[key]
            parent[key] = [value] if not isinstance(value, list) else (value[0] if value else {})
    return doc


TENSORPIX_INPUTS = mutated(TENSORPIX_DOCS)
AIHUBMIX_INPUTS = mutated(AIHUBMIX_DOCS)
#: Each registered API's documents, mutated.
INPUTS = {p: mutated(docs) for p, docs in DOCS.items()}

# ----- the property ------------------------------------------------------------------------------

OUTCOMES: dict[str, int] = {"jobs": 0, "invalid": 0}


def settle(parse: Callable[[], VideoJob], job_id: str, provider: str) -> VideoJob | None:
    """Run one parse; it must give a usable job or our InvalidResponseError naming the job."""
    try:
        job = parse()
    except InvalidResponseError as error:
        text = str(error)
        assert provider in text
        assert job_id in text, text
        OUTCOMES["invalid"] += 1
        return None
    assert isinstance(job, VideoJob)
    assert job.provider == provider
    data = job.to_xcom()
    json.dumps(data, allow_nan=False)  # XCom and trigger events are strict JSON
    assert VideoJob.from_xcom(json.loads(json.dumps(data))) == job
    assert job.summary()
    if job.progress is not None:
        assert 0 <= job.progress <= 100
        assert math.isfinite(job.progress)
    for number in _numbers(data):
        assert math.isfinite(number)
        assert not (number == 0 and math.copysign(1.0, number) < 0), "-0.0 reached the XCom"
    OUTCOMES["jobs"] += 1
    return job


def _numbers(value: Any) -> list[float]:
    """Every float in a JSON-native document."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return []


@pytest.fixture(scope="module")
def parsers() -> dict[str, VideoJobHook]:
    """Hooks used only for ``to_job`` (no connection is read for that)."""
    return {p: hook_class(p)(f"fuzz_{p}") for p in PROVIDERS}


@pytest.mark.parametrize("provider", PROVIDERS)
@FUZZ
@given(payload=JSON)
def test_arbitrary_json(parsers: dict[str, VideoJobHook], payload: Any, provider: str) -> None:
    settle(lambda: parsers[provider].to_job(payload, IDS[provider]), IDS[provider], provider)


@pytest.mark.parametrize("provider", PROVIDERS)
@FUZZ
@given(data=st.data())
def test_mutated_documents(parsers: dict[str, VideoJobHook], data: st.DataObject, provider: str) -> None:
    payload = data.draw(INPUTS[provider])
    settle(lambda: parsers[provider].to_job(payload, IDS[provider]), IDS[provider], provider)


# ----- schema-valid documents with numbers at every edge ------------------------------------------

#: Any JSON number: unbounded integers, edge floats, and floats including NaN and the infinities.
NUMBERS = st.integers() | HUGE_INTEGERS | EDGE_NUMBERS | st.floats(allow_nan=True, allow_infinity=True)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


#: OpenAI's Video object as its schema allows it: every field of the right JSON type, numbers unbounded.
SCHEMA_VALID_VIDEOS = st.fixed_dictionaries(
    {
        "id": st.just(AHM_ID),
        "object": st.just("video"),
        "model": st.sampled_from(["sora-2", "sora-2-pro"]),
        "status": st.sampled_from(["queued", "in_progress", "completed", "failed"]),
        "progress": NUMBERS,
        "created_at": NUMBERS,
        "completed_at": _maybe(NUMBERS),
        "expires_at": _maybe(NUMBERS),
        "prompt": st.text(max_size=20),
        "size": st.sampled_from(["720x1280", "1280x720", "1024x1792"]),
        "seconds": st.sampled_from(["4", "8", "12"]) | NUMBERS,
        "remixed_from_video_id": _maybe(st.just("video_abc")),
        "error": _maybe(st.fixed_dictionaries({"code": st.text(max_size=8), "message": st.text(max_size=8)})),
    },
    optional={"duration": NUMBERS, "width": NUMBERS, "height": NUMBERS},
)

#: TensorPix's job as its reference shows it, numbers unbounded (a finished video included, or not).
SCHEMA_VALID_TENSORPIX_JOBS = st.fixed_dictionaries(
    {
        "id": st.just(TP_ID),
        "prompt": st.text(max_size=20),
        "type": st.sampled_from(["t2v", "i2v"]),
        "status": st.sampled_from(["queued", "processing", "completed", "failed"]),
        "cost": NUMBERS | st.sampled_from(["2.50", "-0.00", "1e400", "NaN"]),
        "model": st.just("tensorpix-video-gen-1"),
        "generated_video": _maybe(
            st.fixed_dictionaries(
                {
                    "id": st.just("ed57764e-61a7-4e59-87c0-af8ae4cbdd11"),
                    "created_at": st.just("2026-11-23T15:10:36Z") | NUMBERS,
                    "width": NUMBERS,
                    "height": NUMBERS,
                    "n_frames": NUMBERS,
                    "framerate": NUMBERS,
                    "size": NUMBERS,
                    "file": st.just(f"{STORAGE}/{TP_ID}/v.mp4?expires=1795450236&signature=3742f4aa"),
                }
            )
        ),
        "progress": NUMBERS,
        "started_at": st.just("2026-11-23T15:10:36Z") | NUMBERS,
    }
)


@FUZZ
@given(payload=SCHEMA_VALID_VIDEOS)
@example(payload={"id": AHM_ID, "status": "in_progress", "progress": 10**400, "created_at": 10**400})
@example(payload={"id": AHM_ID, "status": "completed", "completed_at": -(10**400), "expires_at": 10**400})
def test_schema_valid_videos_with_any_numbers_aihubmix(parsers: dict[str, VideoJobHook], payload: Any) -> None:
    """Valid per the schema, so never a refusal: an unusable number is null, never an OverflowError."""
    assert settle(lambda: parsers["aihubmix"].to_job(payload, AHM_ID), AHM_ID, "aihubmix") is not None


@FUZZ
@given(payload=SCHEMA_VALID_TENSORPIX_JOBS)
@example(payload={"id": TP_ID, "progress": 10**400, "generated_video": {"n_frames": 24, "framerate": 5e-324}})
def test_schema_valid_jobs_with_any_numbers_tensorpix(parsers: dict[str, VideoJobHook], payload: Any) -> None:
    assert settle(lambda: parsers["tensorpix"].to_job(payload, TP_ID), TP_ID, "tensorpix") is not None


#: Number tokens as they can stand in a body: JSON's own and the ones Python's parser also accepts.
NUMBER_TOKENS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "-0.0", "-0", "1" + "0" * 400]) | (
    st.integers(min_value=4301, max_value=6000).map(lambda digits: "9" * digits)  # beyond int() of a str
)


#: The numeric fields of each document (where a number token is written).
NUMERIC_FIELDS = {
    "tensorpix": ["progress", "cost"],
    "tensorpix.generated_video": ["width", "height", "n_frames", "framerate", "size"],
    "aihubmix": ["progress", "created_at", "completed_at", "expires_at", "seconds", "duration", "width", "height"],
}


@st.composite
def bodies_with_number_tokens(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real document as bytes, with a number token written into one of its numeric fields."""
    provider = draw(st.sampled_from(["tensorpix", "aihubmix"]))
    doc = copy.deepcopy(draw(st.sampled_from(TENSORPIX_DOCS if provider == "tensorpix" else AIHUBMIX_DOCS)))
    where = provider
    if provider == "tensorpix" and isinstance(doc.get("generated_video"), dict) and draw(st.booleans()):
        where = "tensorpix.generated_video"
    target = doc["generated_video"] if where.endswith("generated_video") else doc
    target[draw(st.sampled_from(NUMERIC_FIELDS[where]))] = "@@NUMBER@@"
    body = json.dumps(doc).replace('"@@NUMBER@@"', draw(NUMBER_TOKENS))
    return provider, body.encode()


#: The issue's own case: progress 10**400 in a completed AIHubMix video.
_HUGE_PROGRESS = json.dumps({**AIHUBMIX_DOCS[1], "progress": "@"}).replace('"@"', "1" + "0" * 400).encode()


@FUZZ
@given(case=bodies_with_number_tokens(), mode=st.sampled_from(["sync", "async"]))
@example(case=("aihubmix", _HUGE_PROGRESS), mode="sync")
def test_number_tokens_over_http(
    api: Any, http_hooks: dict[str, VideoJobHook], case: tuple[str, bytes], mode: str
) -> None:
    """NaN/Infinity literals, 1e400, -0.0 and integers of any length in a body: the job is read, that value
    is null (or 0 for -0), and nothing else about the document changes."""
    provider, body = case
    api.script(api.raw(200, body, {"content-type": "application/json"}))
    hook = http_hooks[provider]
    job_id = IDS[provider]

    async def aget() -> VideoJob:
        async with hook.async_session():
            return await hook.aget_job(job_id)

    job = settle((lambda: hook.get_job(job_id)) if mode == "sync" else (lambda: asyncio.run(aget())), job_id, provider)
    assert job is not None, "a document with one odd number was refused"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_real_documents_parse(parsers: dict[str, VideoJobHook], provider: str) -> None:
    """The unmutated documents are jobs (the mutations start from something valid)."""
    job_id = IDS[provider]
    for doc in DOCS[provider]:
        assert settle(lambda d=doc: parsers[provider].to_job(d, job_id), job_id, provider) is not None


# ----- the full HTTP path ------------------------------------------------------------------------


def _body(payload: Any) -> bytes:
    # json.dumps writes NaN/Infinity tokens, which json.loads (and so the hook) accepts.
    return json.dumps(payload).encode()


#: Deeper than ``json``'s recursion limit: the parser raises RecursionError, which is not a ValueError.
TOO_DEEP = b"[" * 5_000 + b"]" * 5_000
#: Deep but readable: the document parses, its nested values must not trip anything after.
DEEP_OK = (
    b'{"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "status": "failed", "error": '
    + b"[" * 900
    + b"]" * 900
    + b', "options": '
    + b"[" * 900
    + b"]" * 900
    + b"}"
)

BODIES = st.one_of(
    *(inputs.map(_body) for inputs in INPUTS.values()),
    JSON.map(_body),
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            TOO_DEEP,
            DEEP_OK,
            b'{"id": ' * 5_000,
            b"<!DOCTYPE html><html><body>Maintenance</body></html>",
            b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
            b'{"id": "x", "id": 1}',
            '{"id": "\ud800"}'.encode("utf-8", "surrogatepass"),
        ]
    ),
)


@pytest.fixture
def http_hooks(api: Any, connections: Any) -> dict[str, VideoJobHook]:
    """Hooks over the root conftest's MockTransport, keyed with the canary connection."""
    return {p: hook_class(p)() for p in PROVIDERS}


@FUZZ
@given(body=BODIES, provider=st.sampled_from(PROVIDERS), mode=st.sampled_from(["sync", "async"]))
@example(body=TOO_DEEP, provider="tensorpix", mode="sync")
@example(body=TOO_DEEP, provider="aihubmix", mode="async")
@example(body=DEEP_OK, provider="tensorpix", mode="async")
@example(body=DEEP_OK, provider="aihubmix", mode="sync")
def test_any_200_body_over_http(
    api: Any, http_hooks: dict[str, VideoJobHook], body: bytes, provider: str, mode: str
) -> None:
    api.script(api.raw(200, body, {"content-type": "application/json"}))
    hook = http_hooks[provider]
    job_id = IDS[provider]

    async def aget() -> VideoJob:
        async with hook.async_session():
            return await hook.aget_job(job_id)

    settle((lambda: hook.get_job(job_id)) if mode == "sync" else (lambda: asyncio.run(aget())), job_id, provider)


STATUSES = st.sampled_from([301, 302, 307, 400, 401, 403, 404, 405, 408, 409, 410, 413, 422, 429, 451]) | st.integers(
    min_value=500, max_value=599
)


@FUZZ
@given(body=BODIES, status=STATUSES, provider=st.sampled_from(PROVIDERS))
@example(body=TOO_DEEP, status=500, provider="tensorpix")
@example(body=TOO_DEEP, status=404, provider="aihubmix")
def test_any_error_status_and_body_over_http(
    api: Any, http_hooks: dict[str, VideoJobHook], body: bytes, status: int, provider: str
) -> None:
    """Whatever the body of a failed request, the error is ours and names the job and the status."""
    api.script(api.raw(status, body, {"content-type": "application/json"}))
    job_id = IDS[provider]
    with pytest.raises(VideoAPIError) as info:
        http_hooks[provider].get_job(job_id)
    assert f"{provider} job {job_id}" in str(info.value)
    assert f"HTTP {status}" in str(info.value)


SECRET = "sk-fuzz-0123456789abcdef"


def _naive_scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(SECRET, "***")
    if isinstance(value, dict):
        return {_naive_scrub(k): _naive_scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_naive_scrub(v) for v in value]
    return value


@st.composite
def with_secret(draw: st.DrawFn) -> Any:
    """A JSON document with the key written into some of its strings (values and keys)."""
    text = st.builds(lambda a, b: f"{a}{SECRET}{b}", st.text(max_size=5), st.text(max_size=5)) | st.text(max_size=8)
    leaves = st.none() | st.integers() | st.floats(allow_nan=False) | text
    return draw(
        st.recursive(
            leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4), max_leaves=30
        )
    )


@FUZZ
@given(document=with_secret())
def test_scrubbing_a_document_removes_the_key_everywhere(document: Any) -> None:
    from airflow_provider_vidjobs.http.scrub import scrub_document

    scrubbed = scrub_document(document, SECRET)
    assert SECRET not in json.dumps(scrubbed)
    assert scrubbed == _naive_scrub(document)
    if SECRET not in json.dumps(document):
        assert scrubbed is document  # no copy on the hot path


@FUZZ
@given(document=with_secret(), ascii_only=st.booleans(), encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_scrubbing_from_the_raw_body_finds_what_the_walk_finds(document: Any, ascii_only: bool, encoding: str) -> None:
    """The raw-bytes shortcut of the hot path never skips a key the decoded document holds, however the
    vendor encoded the JSON (escapes such as \\u0073k-..., any Unicode encoding json.loads reads)."""
    raw = json.dumps(document, ensure_ascii=ascii_only).encode(encoding, "surrogatepass")
    assert _replied(raw) == _naive_scrub(json.loads(raw))


@FUZZ
@given(document=with_secret(), spelled=st.lists(st.booleans(), min_size=len(SECRET), max_size=len(SECRET)))
def test_the_raw_shortcut_sees_the_key_through_escapes(document: Any, spelled: list[bool]) -> None:
    """Escapes that spell some of the key's characters (\\u0073k-...), beside escapes elsewhere such as
    Replicate's logs have (\\n, \\u2588): the shortcut never skips a key the decoded document holds."""
    escaped = "".join(f"\\u{ord(c):04x}" if spell else c for c, spell in zip(SECRET, spelled, strict=True))
    body = json.dumps(document).encode().replace(SECRET.encode(), escaped.encode())
    raw = b'{"output": ' + body + b', "logs": "50%|\\u2588\\u2588     |\\n"}'
    assert _replied(raw) == _naive_scrub(json.loads(raw))


def test_escapes_that_cannot_spell_the_key_are_decided_from_the_bytes_alone(mocker: MockerFixture) -> None:
    from airflow_provider_vidjobs.http import responses

    walk = mocker.patch.object(responses, "scrub_document", wraps=responses.scrub_document)
    logs = '{"status": "processing", "logs": "Using seed: 7\\n 50%|\\u2588\\u2588  | 25/50 \\"ok\\""}'
    assert _replied(logs.encode())["logs"] == 'Using seed: 7\n 50%|\u2588\u2588  | 25/50 "ok"'
    walk.assert_not_called()  # a Replicate poll: escapes, none of the \\u00XX form that spells key characters


@pytest.mark.parametrize(
    "raw",
    [
        b'{"error": "bad key \\u0073k-fuzz-0123456789abcdef"}',  # the key with its first letter escaped
        b'{"error": "bad key sk-fuzz-0123456789abcdef"}',
        '{"error": "bad key sk-fuzz-0123456789abcdef"}'.encode("utf-16"),
    ],
    ids=["escaped", "verbatim", "utf-16"],
)
def test_a_key_in_the_raw_body_is_scrubbed(raw: bytes) -> None:
    assert _replied(raw) == {"error": "bad key ***"}


def test_a_body_without_the_key_is_decided_from_the_bytes_alone(mocker: MockerFixture) -> None:
    from airflow_provider_vidjobs.http import responses

    walk = mocker.patch.object(responses, "scrub_document", wraps=responses.scrub_document)
    assert _replied(b'{"status": "processing", "prompt": "a quoted word"}') == {
        "status": "processing",
        "prompt": "a quoted word",
    }
    walk.assert_not_called()  # the every-poll case: no walk of the document
    # A \\u00XX escape may spell a character of the key, so that body is walked (and found clean).
    assert _replied(b'{"prompt": "caf\\u00e9"}') == {"prompt": "caf\u00e9"}
    walk.assert_called_once()


def _replied(raw: bytes) -> Any:
    """The payload a 200 with body ``raw`` becomes on the poll path (responses.to_reply)."""
    from airflow_provider_vidjobs.http.responses import to_reply

    response = httpx.Response(200, content=raw)
    return to_reply(response, raw, provider="aihubmix", job_id="job", conn_id="aihubmix_default", secret=SECRET).payload


def test_scrubbing_a_document_nested_to_the_parser_limit() -> None:
    from airflow_provider_vidjobs.http.scrub import scrub_document

    document = json.loads("[" * 900 + json.dumps({"message": f"bad key {SECRET}"}) + "]" * 900)
    scrubbed = scrub_document(document, SECRET)
    for _ in range(900):
        scrubbed = scrubbed[0]
    assert scrubbed == {"message": "bad key ***"}


def test_the_fuzzers_reach_both_outcomes() -> None:
    """Runs last in this module: the inputs were not all rejected, nor all accepted (they test something)."""
    assert OUTCOMES["jobs"] > 0
    assert OUTCOMES["invalid"] > 0


@pytest.mark.parametrize("secret", ['key"with-quote', "key\\with-backslash", "key\twith-tab"])
def test_scrubbing_finds_a_key_json_would_escape(secret: str) -> None:
    from airflow_provider_vidjobs.http.scrub import scrub_document

    document = {"a": [{"b": f"echo {secret} end"}], f"{secret}": 1}

    assert scrub_document(document, secret) == {"a": [{"b": "echo *** end"}], "***": 1}


def test_a_key_spanning_two_strings_is_not_a_match() -> None:
    from airflow_provider_vidjobs.http.scrub import scrub_document

    document = {"n": [1, 2], "s": "1,2"}  # json.dumps writes "[1, 2]": the text is there, in no string

    assert scrub_document(document, "1, 2") is document
