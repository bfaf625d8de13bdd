"""Vendor text made safe to show: no terminal escapes, no control characters, no line breaks.

A vendor's words reach exception messages, ``VideoJob.summary()`` and so every task log. Text from a
server is not trusted to be one printable line: an ANSI escape (``\\x1b[2J``, ``\\x1b[31m``) would
repaint a terminal that shows the log, and a line break would start a line that looks like Airflow's
own (log forging). :func:`printable` is applied wherever such text is put in front of people; the data
itself (a job's error in its XCom) stays as the vendor sent it, without the key.
"""

from __future__ import annotations

import re

#: ANSI/VT escape sequences: CSI (``ESC [ ... final``), OSC (``ESC ] ... BEL`` or ``ESC \\``), and the
#: two-character ones (``ESC c``, ``ESC 7``...); C1 CSI/OSC introducers (``\\x9b``, ``\\x9d``) alike.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
#: What is left that is not printable on one line: C0 and C1 controls, DEL, Unicode line and paragraph
#: separators, and the bidirectional overrides that make a line read other than it is.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_CLEAN = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*")


def printable(text: str) -> str:
    """``text`` on one line: escape sequences removed, every other control character (line breaks,
    tabs, NUL, DEL) replaced by a space. Text that needs nothing is returned as it is, cheaply."""
    if _CLEAN.fullmatch(text):
        return text
    return _CONTROLS.sub(" ", _ESCAPES.sub("", text))
