"""Cancel, for every registered API that documents one: a success with no body (204, or an empty 200) is a
success, not an unreadable answer; an empty answer to a read stays an error."""

from __future__ import annotations

import asyncio

import pytest
from _apis import API_NAMES, CONTRACT_APIS

from airflow_provider_vidjobs.exceptions import UnreadableResponseError
from airflow_provider_vidjobs.hooks.registry import hook_class

CANCEL_APIS = [name for name in API_NAMES if hook_class(name).can_cancel]


@pytest.mark.parametrize("status", [204, 200, 202])
@pytest.mark.parametrize("api_name", CANCEL_APIS)
def test_a_cancel_answered_with_no_body_succeeds_sync_and_async(api, connections, api_name: str, status: int) -> None:
    api.script(api.raw(status, b""))
    cls = hook_class(api_name)
    job_id = CONTRACT_APIS[api_name].facts.sample_id
    cls().cancel_job(job_id)
    asyncio.run(cls().acancel_job(job_id))
    assert [r.method for r in api.requests] == [cls.cancel_method, cls.cancel_method]


@pytest.mark.parametrize("api_name", API_NAMES)
def test_an_empty_answer_to_a_read_is_still_unreadable(api, connections, api_name: str) -> None:
    api.script(api.raw(200, b""))
    with pytest.raises(UnreadableResponseError):
        hook_class(api_name)().get_job(CONTRACT_APIS[api_name].facts.sample_id)
