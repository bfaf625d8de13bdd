"""An in-memory stand-in for the SDK's ``task_state_store`` accessor, shared by the create-operator tests."""

from __future__ import annotations

import json
from typing import Any


class MemoryTaskState:
    """The accessor's get/set/delete, kept across tries like the real one, JSON only as the execution API stores it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        #: How many writes were made (the re-attach record is written twice per create).
        self.sets = 0

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    def set(self, key: str, value: Any) -> None:
        self.sets += 1
        self.values[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.values.pop(key, None)
