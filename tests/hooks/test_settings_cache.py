"""The triggerer's connection cache: waits starting together share one lookup, edits land within the TTL,
a rejected key is read again, and each hook still gets its own retry policy."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_vidjobs.exceptions import AuthenticationError
from airflow_provider_vidjobs.hooks import base
from airflow_provider_vidjobs.hooks.tensorpix import TensorPixHook
from airflow_provider_vidjobs.http import settings_cache
from airflow_provider_vidjobs.retry import NO_RETRY

TP_ID = "5d2d3c2e-1f7a-4a4e-9a8e-3b1f2c4d5e6f"


@pytest.fixture
def lookups(mocker: Any) -> Any:
    return mocker.spy(base, "get_async_connection")


def settings_of(*hooks: TensorPixHook) -> list[Any]:
    async def main() -> list[Any]:
        return list(await asyncio.gather(*(hook.aget_settings() for hook in hooks)))

    return asyncio.run(main())


def test_waits_starting_together_share_one_lookup(connections: Any, lookups: Any) -> None:
    found = settings_of(*(TensorPixHook() for _ in range(50)))

    assert lookups.call_count == 1
    assert all(s is found[0] for s in found)


def test_later_waits_reuse_the_lookup_until_the_ttl_then_read_the_edit(
    connections: Any, lookups: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections("tensorpix_default", "tensorpix", host="one.example.com")
    (first,) = settings_of(TensorPixHook())
    connections("tensorpix_default", "tensorpix", host="two.example.com")
    (second,) = settings_of(TensorPixHook())
    assert (first.base_url, second.base_url, lookups.call_count) == ("https://one.example.com",) * 2 + (1,)

    monkeypatch.setattr(settings_cache, "TTL_S", 0.0)
    (third,) = settings_of(TensorPixHook())

    assert third.base_url == "https://two.example.com"
    assert lookups.call_count == 2


def test_a_rejected_key_is_read_again_by_the_next_wait(connections: Any, api: Any, lookups: Any) -> None:
    api.script(api.json(401, {"detail": "Invalid token."}))
    with pytest.raises(AuthenticationError):
        asyncio.run(TensorPixHook(retry_policy=NO_RETRY).aget_job(TP_ID))
    assert settings_cache.get("tensorpix", "tensorpix_default") is None

    connections("tensorpix_default", "tensorpix", password="the-corrected-key")
    (fresh,) = settings_of(TensorPixHook())

    assert fresh.api_key.reveal() == "the-corrected-key"
    assert lookups.call_count == 2


def test_each_hook_keeps_its_own_retry_policy(connections: Any, lookups: Any) -> None:
    connections("tensorpix_default", "tensorpix", extra={"max_attempts": 4})
    plain, once = settings_of(TensorPixHook(), TensorPixHook(retry_policy=NO_RETRY))

    assert (plain.retry.max_attempts, once.retry.max_attempts) == (4, 1)
    assert lookups.call_count == 1


def test_a_missing_connection_fails_every_waiter_and_is_not_cached(lookups: Any) -> None:
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    async def main() -> list[Any]:
        hooks = [TensorPixHook("vidjobs_no_such_connection") for _ in range(3)]
        return list(await asyncio.gather(*(h.aget_settings() for h in hooks), return_exceptions=True))

    outcomes = asyncio.run(main())

    assert all(isinstance(o, AirflowNotFoundException) for o in outcomes)
    assert settings_cache.get("tensorpix", "vidjobs_no_such_connection") is None
    assert lookups.call_count == 1


def test_a_cancelled_waiter_does_not_cancel_the_shared_lookup(connections: Any, lookups: Any) -> None:
    async def main() -> Any:
        first = asyncio.create_task(TensorPixHook().aget_settings())
        second = asyncio.create_task(TensorPixHook().aget_settings())
        await asyncio.sleep(0)
        first.cancel()
        return await second

    settings = asyncio.run(main())

    assert settings.conn_id == "tensorpix_default"
    assert lookups.call_count == 1
