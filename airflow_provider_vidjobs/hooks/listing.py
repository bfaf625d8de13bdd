"""Reading a vendor's list of jobs for the orphan lookup: one page, the time window, lenient equality.

Used by the hooks' :meth:`~airflow_provider_vidjobs.hooks.base.VideoJobHook.find_created_jobs`, which
re-attach calls when an earlier try's create answer was lost (see :mod:`airflow_provider_vidjobs.reattach`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from airflow_provider_vidjobs.exceptions import InvalidRequestError, JobNotFoundError, OrphanLookupUnavailableError

if TYPE_CHECKING:
    from airflow_provider_vidjobs.hooks.base import VideoJobHook
    from airflow_provider_vidjobs.models import VideoJob

#: Jobs asked for per page (the most OpenAI's and Replicate's lists give).
LIST_PAGE_SIZE = 100
#: Pages read at most, newest first: a lost create is minutes old, so 1,000 newer jobs means it is not there.
MAX_LIST_PAGES = 10


def list_page(hook: VideoJobHook, path: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """One page of a list endpoint (retried like any read); 404 or 405 means a gateway without it: no way to look."""
    missing: int | None = None
    try:
        reply = hook.request("GET", path, params=dict(params))
    except JobNotFoundError:
        missing = 404
    except InvalidRequestError as error:
        if error.http_status != 405:
            raise
        missing = 405
    if missing is not None:
        raise OrphanLookupUnavailableError(
            f"answered its job list with HTTP {missing}, so there is no list in which to look for a job whose "
            "create answer was lost",
            provider=hook.provider,
            http_status=missing,
        )
    if not isinstance(reply.payload, Mapping):
        raise OrphanLookupUnavailableError(
            "answered its job list with something other than a JSON object", provider=hook.provider
        )
    return reply.payload


def in_window(created_at: datetime | None, since: datetime, until: datetime) -> bool:
    """True when the job was created inside the window; a job without a creation time cannot be placed in it."""
    return created_at is not None and since <= created_at <= until


def same_value(asked: Any, echoed: Any) -> bool:
    """Whether what a request asked for and what the API echoes agree; either side missing counts as agreeing.

    Numbers compare as numbers (``"8"`` and ``8.0``), text without case or surrounding blanks.
    """
    if asked is None or echoed is None:
        return True
    try:
        return float(asked) == float(echoed)
    except (TypeError, ValueError):
        return str(asked).strip().lower() == str(echoed).strip().lower()


def scan_newest_first(
    hook: VideoJobHook,
    path: str,
    params: Mapping[str, Any],
    *,
    items_key: str,
    made_by: Callable[[Any], bool],
    next_params: Callable[[Mapping[str, Any]], Mapping[str, Any] | None],
    since: datetime,
    until: datetime,
) -> list[VideoJob]:
    """The listed jobs ``made_by`` accepts, created in [since, until], earliest first.

    Pages (at most :data:`MAX_LIST_PAGES`) are read newest first until one reaches past ``since`` or
    ``next_params`` (the query of the page after ``page``) says there is none. Items that are not the
    hook's wire model are skipped.
    """
    found: list[VideoJob] = []
    wire_model: type[BaseModel] = hook.wire_model
    query = dict(params)
    for _ in range(MAX_LIST_PAGES):
        page = list_page(hook, path, query)
        items = page.get(items_key)
        if not isinstance(items, list):
            raise OrphanLookupUnavailableError(
                f"answered its job list without a {items_key!r} list", provider=hook.provider
            )
        older = False
        for item in items:
            try:
                wire = wire_model.model_validate(item)
            except ValidationError:
                continue
            created = getattr(wire, "created_at", None)
            if created is not None and created < since:
                older = True  # newest first: the rest of the list is older still
            elif in_window(created, since, until) and made_by(wire):
                found.append(hook.normalize(wire, hook.api_url()))
        following = None if older else next_params(page)
        if following is None:
            break
        query = {**query, **following}
    return sorted(found, key=lambda job: job.created_at or since)
