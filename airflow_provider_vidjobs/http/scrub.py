"""Secret scrubbing: the API key out of every text and document a response brings back.

Some APIs echo the key they were sent (in an error body, in a job's error message); whatever they
send then reaches logs, XComs and trigger events, so it is scrubbed here first.
"""

from __future__ import annotations

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
