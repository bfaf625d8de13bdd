"""The simulator's clock: wall time that can run faster (``time_scale``) or jump (``advance``).

Every timeline, timestamp, URL expiry and timed fault reads this one clock, so a benchmark can
compress a ten-minute job into seconds and a test can skip ahead without sleeping.
"""

from __future__ import annotations

import time


class SimClock:
    """Simulated unix time: starts at the real wall time and advances ``time_scale`` times faster."""

    __slots__ = ("_mono0", "_scale", "_sim0")

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self._mono0 = time.monotonic()
        self._sim0 = time.time()
        self._scale = float(time_scale)

    def now(self) -> float:
        """Current simulated unix time in seconds."""
        return self._sim0 + (time.monotonic() - self._mono0) * self._scale

    @property
    def time_scale(self) -> float:
        """How many simulated seconds pass per real second."""
        return self._scale

    def set_time_scale(self, time_scale: float) -> None:
        """Change the speed from now on without making simulated time jump."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        now = self.now()
        self._mono0 = time.monotonic()
        self._sim0 = now
        self._scale = float(time_scale)

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (tests: expire a URL or finish a job without sleeping)."""
        if seconds < 0:
            raise ValueError("cannot move the clock backwards")
        self._sim0 += seconds
