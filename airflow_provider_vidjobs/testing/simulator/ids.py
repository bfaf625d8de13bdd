"""Job-id factories every API may use (an API with its own id format keeps it in its module)."""

from __future__ import annotations

import random
import uuid


def new_uuid(rng: random.Random) -> str:
    """A random UUID4 string from the simulator's (seedable) generator."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
