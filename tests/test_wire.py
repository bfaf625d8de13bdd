"""The lenient wire types: odd vendor values become None instead of failing the whole job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from airflow_provider_vidjobs.models import (
    IsoTime,
    LenientDecimal,
    LenientFloat,
    LenientInt,
    LenientStr,
    UnixTime,
    WireModel,
    clamp_progress,
    duration_from_frames,
    parse_size,
)


class Sample(WireModel):
    f: LenientFloat = None
    i: LenientInt = None
    d: LenientDecimal = None
    s: LenientStr = None
    iso: IsoTime = None
    unix: UnixTime = None


def value(field: str, raw: object) -> object:
    return getattr(Sample.model_validate({field: raw}), field)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (8, 8.0),
        ("8", 8.0),
        (" 12.5 ", 12.5),
        (0, 0.0),
        ("<string>", None),
        ("", None),
        (None, None),
        (True, None),
        ("nan", None),
        (float("inf"), None),
        ([1], None),
        ({"v": 1}, None),
    ],
)
def test_lenient_float(raw, expected):
    assert value("f", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(123, 123), ("2080", 2080), (24.6, 25), ("1e3", 1000), ("<string>", None), (False, None), (None, None)],
)
def test_lenient_int(raw, expected):
    result = value("i", raw)
    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.35", Decimal("0.35")),
        ("12.50", Decimal("12.50")),
        (3, Decimal(3)),
        (" 1.1 ", Decimal("1.1")),
        ("<string>", None),
        ("NaN", None),
        ("Infinity", None),
        (True, None),
        (None, None),
    ],
)
def test_lenient_decimal_keeps_the_exact_digits(raw, expected):
    result = value("d", raw)
    assert result == expected
    if expected is not None:
        assert str(result) == str(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("<string>", "<string>"), ("", ""), (8, "8"), (2.5, "2.5"), (True, None), ({"a": 1}, None), ([], None)],
)
def test_lenient_str(raw, expected):
    assert value("s", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-11-07T05:31:56Z", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("2023-11-07T07:31:56+02:00", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("2023-11-07T05:31:56.123456Z", datetime(2023, 11, 7, 5, 31, 56, 123456, tzinfo=UTC)),
        (1699335116, datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("<string>", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_time(raw, expected):
    assert value("iso", raw) == expected


def test_iso_time_keeps_the_offset_it_was_given():
    result = value("iso", "2023-11-07T07:31:56+02:00")
    assert result.utcoffset() == timedelta(hours=2)  # VideoJob converts to UTC, the wire model does not
    assert value("iso", "2023-11-07T05:31:56").tzinfo is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1699335116, datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        ("1699335116", datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
        (1699335116500, datetime(2023, 11, 7, 5, 31, 56, 500000, tzinfo=UTC)),  # milliseconds
        (123, datetime(1970, 1, 1, 0, 2, 3, tzinfo=UTC)),
        (0, None),
        (-5, None),
        (1e300, None),
        ("<string>", None),
        (None, None),
    ],
)
def test_unix_time(raw, expected):
    result = value("unix", raw)
    assert result == expected
    if result is not None:
        assert result.tzinfo is UTC


def test_wire_models_keep_unknown_keys():
    sample = Sample.model_validate({"f": 1, "quality": "high", "nested": {"x": 1}})
    assert sample.model_extra == {"quality": "high", "nested": {"x": 1}}


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("1280x720", (1280, 720)),
        ("720X1280", (720, 1280)),
        ("1024\u00d71792", (1024, 1792)),
        (" 1792 x 1024 ", (1792, 1024)),
        ("1920*1080", (1920, 1080)),
        ("720P", (None, None)),
        ("1080p", (None, None)),
        ("x720", (None, None)),
        ("1280x720x3", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_parse_size(size, expected):
    assert parse_size(size) == expected


@pytest.mark.parametrize(("raw", "expected"), [(None, None), (-3, 0.0), (0, 0.0), (45.5, 45.5), (123, 100.0)])
def test_clamp_progress(raw, expected):
    assert clamp_progress(raw) == expected


@pytest.mark.parametrize(
    ("frames", "rate", "expected"),
    [(121, 24.0, 5.042), (240, 30, 8.0), (None, 24.0, None), (0, 24.0, None), (120, None, None), (120, 0, None)],
)
def test_duration_from_frames(frames, rate, expected):
    assert duration_from_frames(frames, rate) == expected


def test_wire_times_are_compatible_with_the_normalized_model():
    from airflow_provider_vidjobs.models import JobStatus, VideoJob

    offset = Sample.model_validate({"iso": "2023-11-07T07:31:56+02:00"}).iso
    naive = Sample.model_validate({"iso": "2023-11-07T05:31:56"}).iso
    job = VideoJob(provider="p", job_id="j", status=JobStatus.RUNNING, started_at=offset, created_at=naive)
    assert job.started_at == job.created_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert job.started_at.tzinfo is UTC
    assert job.started_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("field", ["f", "i", "d", "s", "iso", "unix"])
@pytest.mark.parametrize("raw", [10**400, -(10**400)], ids=["10**400", "-10**400"])
def test_an_integer_beyond_float_range_is_null_not_an_overflow(field, raw):
    """A schema-valid integer too big for a float raised OverflowError, outside our errors, through get_job."""
    value = getattr(Sample.model_validate({field: raw}), field)
    assert value is None or (field in ("d", "s") and value == (Decimal(raw) if field == "d" else str(raw)))


@pytest.mark.parametrize("raw", [-0.0, "-0.0", "-0"])
def test_negative_zero_is_zero(raw):
    sample = Sample.model_validate({"f": raw, "i": raw, "d": raw})
    assert str(sample.f) == "0.0"
    assert sample.i == 0
    assert str(sample.d) in ("0.0", "0")


def test_a_duration_that_would_be_infinite_is_null():
    assert duration_from_frames(24, 5e-324) is None


def test_a_negative_frame_count_gives_no_duration():
    """-1 frames at 2001 fps rounded to -0.0 s (found by test_schema_valid_jobs_with_any_numbers_tensorpix)."""
    assert duration_from_frames(-1, 2001.0) is None
