"""Job id rules every API shares, checked before any request, and ids made safe as one URL path segment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

MAX_JOB_ID_LENGTH = 1024
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def check_job_id(job_id: object, provider: str) -> str:
    """Generic id rules: a non-empty single-line string of at most 1024 characters, not ``.`` or ``..``."""
    if job_id is None:
        raise ValueError(
            f"No {provider} job id was given (got None). If the id comes from a template or XCom, "
            "check that the upstream task pushed it."
        )
    if isinstance(job_id, Mapping) and isinstance(job_id.get("job_id"), str):
        job_id = job_id["job_id"]  # an upstream task's VideoJob XCom
    if not isinstance(job_id, str):
        raise ValueError(f"A {provider} job id must be a string, not {type(job_id).__name__}: {job_id!r:.100}")
    clean = job_id.strip()
    if clean in ("None", "null"):
        raise ValueError(
            f"The {provider} job id is the text {clean!r}: a template or XCom rendered nothing. "
            "Check that the upstream task pushed the id (and the XCom key the template reads)."
        )
    if not clean:
        raise ValueError(f"The {provider} job id is empty; pass the id the API returned when the job was created.")
    if len(clean) > MAX_JOB_ID_LENGTH:
        raise ValueError(
            f"The {provider} job id is {len(clean)} characters long; ids are at most {MAX_JOB_ID_LENGTH}. "
            f"It starts {clean[:40]!r}: is a whole document being passed instead of the id?"
        )
    if _CONTROL_CHARACTER.search(clean):
        raise ValueError(f"The {provider} job id {clean[:80]!r} contains a control character or line break.")
    if clean in (".", ".."):
        raise ValueError(f"{clean!r} is not a {provider} job id.")
    return clean


def path_segment(value: str) -> str:
    """``value`` percent-encoded as ONE path segment: ``/``, ``+``, ``=``, ``%`` and ``..`` cannot escape it."""
    return quote(value, safe="")
