"""Job-id factories: TensorPix UUIDs and AIHubMix's opaque, base64-like ids.

AIHubMix ids are long standard-base64 strings; some contain ``/``, ``+`` and ``=``, which clients must
percent-encode in a path. The styles let a test force such an id on purpose.
"""

from __future__ import annotations

import base64
import random
import uuid

#: Styles for AIHubMix ids. ``base64``: standard base64 of 40 random bytes (always ends in ``==``, often
#: ``/`` and ``+``); ``slashy``: like base64 but always contains ``/``, ``+`` and ``=``;
#: ``urlsafe``: only ``[A-Za-z0-9_-]``; ``openai``: ``video_<hex>`` like OpenAI's own ids.
AIHUBMIX_ID_STYLES = ("base64", "slashy", "urlsafe", "openai")


def new_uuid(rng: random.Random) -> str:
    """A random UUID4 string (TensorPix job and video ids)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_aihubmix_id(rng: random.Random, style: str = "base64") -> str:
    """A new AIHubMix video id in the given style (see ``AIHUBMIX_ID_STYLES``)."""
    raw = rng.randbytes(40)
    if style == "base64":
        return base64.b64encode(raw).decode("ascii")
    if style == "slashy":
        text = base64.b64encode(raw).decode("ascii")
        # Force one '/' and one '+' in the body; 40 bytes always end with "==" padding.
        return text[:8] + "/" + text[9:20] + "+" + text[21:]
    if style == "urlsafe":
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    if style == "openai":
        return "video_" + raw[:24].hex()
    raise ValueError(f"unknown id style {style!r}; expected one of {', '.join(AIHUBMIX_ID_STYLES)}")
