"""What the closing summary of an e2e run prints: one line per scenario."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScenarioResult:
    """A scenario's name, how many deferred waits it had in flight, how long it took, how it ended."""

    name: str
    waits: int = 0
    seconds: float = 0.0
    result: str = "not run"
    notes: list[str] = field(default_factory=list)


RESULTS: list[ScenarioResult] = []

#: Start-up phases of the stack and how long each took (seconds).
TIMINGS: dict[str, float] = {}
