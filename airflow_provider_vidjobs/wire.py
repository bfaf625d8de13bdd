"""Lenient field types shared by the vendors' wire models.

Vendors' JSON drifts: numbers arrive as strings, placeholders like ``"<string>"`` appear in their own
examples, optional keys vanish or turn null. These types accept all of that, turning an unusable value
into ``None`` rather than failing the whole job: an odd ``framerate`` must not end a wait.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX\u00d7*]\s*(\d{1,5})\s*$")


class WireModel(BaseModel):
    """Base of vendor models: unknown keys kept (in ``model_extra``), nothing frozen."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _number(value: Any) -> float | None:
    """A finite float, or None: NaN, infinities, ``1e400`` and integers beyond float range are unusable.

    ``-0.0`` becomes ``0.0``, so no ``-0.0`` reaches an XCom.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)  # an int beyond float range (10**400) raises OverflowError
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number + 0.0 if math.isfinite(number) else None


def _float(value: Any) -> float | None:
    return _number(value)


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return abs(number) if number.is_zero() else number  # "-0.00" -> 0.00


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int of more digits than Python converts to text (4300 by default)
            return None
    return None


def _iso_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return _unix_time(value)
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _unix_time(value: Any) -> datetime | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    if number > 1e11:  # milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


LenientFloat = Annotated[float | None, BeforeValidator(_float)]
LenientInt = Annotated[int | None, BeforeValidator(_int)]
LenientDecimal = Annotated[Decimal | None, BeforeValidator(_decimal)]
LenientStr = Annotated[str | None, BeforeValidator(_text)]
IsoTime = Annotated[datetime | None, BeforeValidator(_iso_time)]
UnixTime = Annotated[datetime | None, BeforeValidator(_unix_time)]


def parse_size(size: str | None) -> tuple[int | None, int | None]:
    """``"1280x720"`` -> ``(1280, 720)``; anything else (``"720P"``, ``None``) -> ``(None, None)``."""
    if not size:
        return None, None
    match = _SIZE.match(size)
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2))


def clamp_progress(progress: float | None) -> float | None:
    """Progress as 0-100, or None when unknown."""
    if progress is None:
        return None
    return min(100.0, max(0.0, progress))


def duration_from_frames(frames: int | None, rate: float | None) -> float | None:
    """Seconds from a frame count and frame rate, when both are usable."""
    if not frames or not rate or frames < 0 or rate <= 0:
        return None
    seconds = frames / rate  # a denormal rate (5e-324) makes this infinite
    return round(seconds, 3) if math.isfinite(seconds) else None
