"""Secret scrubbing: the API key out of every text and document a response brings back.

Some APIs echo the key they were sent (in an error body, in a job's error message); whatever they
send then reaches logs, XComs and trigger events, so it is scrubbed here first.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

#: Characters ``json.dumps`` escapes even with ``ensure_ascii=False``.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def scrub(text: str | None, secret: str | None) -> str | None:
    """``text`` with ``secret`` replaced: some APIs echo the key they rejected in the error body."""
    if text is None or not secret:
        return text
    return text.replace(secret, "***")


#: Fewest characters of the key that count as showing it: a shorter piece (``sk-``, OpenAI's masked
#: ``sk-ab...wxyz``) tells nothing, a longer one is most of a key (and what a cut through one leaves).
MIN_FRAGMENT = 12
#: Characters an encoding may spend on one character of the key (``\\u0061``): how far past a cut a
#: text is read so that a key straddling the cut is scrubbed whole before the cut is made.
MAX_ENCODED_WIDTH = 6


def scrub_message(text: str | None, secret: str | None) -> str | None:
    """``text`` with every trace of ``secret`` replaced by ``***``, for text a person will see.

    Stricter than :func:`scrub` (which data goes through, on every poll): the key in any spelling a
    server may echo it in (as is, URL-encoded ``%XX``, JSON-escaped ``\\u00XX``, any mix, either hex
    case), and any piece of it of :data:`MIN_FRAGMENT` characters or more (a body or header cut
    through the key by the server or by a preview). Used on every server-supplied string BEFORE it is
    cut, stored on an error or formatted into a message.
    """
    if not text or not secret:
        return text
    if "%" not in text and "\\" not in text:
        spans = _plain_spans(text, secret)
    else:
        spans = [match.span(1) for match in _pattern(secret).finditer(text)]
    if not spans:
        return text
    out, last = [], 0
    for start, end in _merged(spans):
        out.append(text[last:start])
        out.append("***")
        last = end
    out.append(text[last:])
    return "".join(out)


def _windows(secret: str) -> list[str]:
    """Every run of :data:`MIN_FRAGMENT` characters of the key (the key itself when shorter): a piece
    of that length or more contains one."""
    if len(secret) <= MIN_FRAGMENT:
        return [secret]
    return [secret[i : i + MIN_FRAGMENT] for i in range(len(secret) - MIN_FRAGMENT + 1)]


def _plain_spans(text: str, secret: str) -> list[tuple[int, int]]:
    spans = []
    for window in dict.fromkeys(_windows(secret)):
        start = text.find(window)
        while start >= 0:
            spans.append((start, start + len(window)))
            start = text.find(window, start + 1)
    return spans


@functools.lru_cache(maxsize=32)
def _pattern(secret: str) -> re.Pattern[str]:
    """Overlapping matches (a look-ahead group) of any window of the key, each character spelled as
    itself, ``%XX`` or ``\\u00XX`` (hex in either case)."""

    def char(c: str) -> str:
        if ord(c) > 0xFF:
            return re.escape(c)
        hexa = "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{ord(c):02x}")
        return f"(?:{re.escape(c)}|%{hexa}|\\\\u00{hexa})"

    windows = "|".join("".join(char(c) for c in window) for window in dict.fromkeys(_windows(secret)))
    return re.compile(f"(?=({windows}))")


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def scrub_document(document: Any, secret: str | None) -> Any:
    """Decoded JSON with ``secret`` replaced in every string (keys included): a vendor may write the key it
    was sent into a job's error message, which would then reach logs, XComs and trigger events.

    Iterative (a document may nest as deep as the parser allows); returns ``document`` itself, uncopied,
    when the secret is not in it, which is every time in practice. A reply's raw bytes answer that even
    sooner (:func:`~.responses.key_cannot_be_in`), before this is called.
    """
    if not secret or not _contains(document, secret):
        return document
    if not isinstance(document, dict | list):
        return scrub(document, secret) if isinstance(document, str) else document
    root: dict[Any, Any] | list[Any] = {} if isinstance(document, dict) else []
    stack: list[tuple[Any, Any]] = [(document, root)]
    while stack:
        source, target = stack.pop()
        for key, value in source.items() if isinstance(source, dict) else enumerate(source):
            if isinstance(value, dict | list):
                copy: Any = {} if isinstance(value, dict) else []
                stack.append((value, copy))
            else:
                copy = scrub(value, secret) if isinstance(value, str) else value
            if isinstance(target, dict):
                target[scrub(key, secret) if isinstance(key, str) else key] = copy
            else:
                target.append(copy)
    return root


def _contains(document: Any, secret: str) -> bool:
    """Whether ``secret`` is in any string of ``document`` (keys included).

    One C-speed ``json.dumps`` answers it when the secret has nothing JSON escapes (a typical key): every
    string is then written out verbatim, so a miss there is a miss everywhere (a hit may span two
    strings, which only costs the exact walk below). Runs on every poll, hence the shortcut.
    """
    if not _JSON_ESCAPED.search(secret):
        try:
            if secret not in json.dumps(document, ensure_ascii=False, check_circular=False):
                return False
        except (TypeError, ValueError, RecursionError):
            pass
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if secret in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
