"""``AIHubMixCreateVideoOperator``: :class:`~.generate.GenerateVideoOperator` with AIHubMix's fields as arguments.

A thin, documented alias kept for DAGs written before ``GenerateVideoOperator``: the same create, re-attach
(same fingerprint: its records still match), XComs, link, waits and cancels. New DAGs can write
``GenerateVideoOperator(provider="aihubmix", request={"prompt": ...})``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.common.compat.sdk import conf

from airflow_provider_vidjobs.hooks.aihubmix import AIHubMixHook, to_input_reference
from airflow_provider_vidjobs.hooks.requests import as_params
from airflow_provider_vidjobs.operators.generate import JOB_ID_XCOM_KEY, GenerateVideoOperator, _WaitTimeout


class AIHubMixCreateVideoOperator(GenerateVideoOperator):
    """Starts a video job (``POST /v1/videos``), pushes its id, and optionally waits for it like the sensor.

    :param prompt: what to generate (templated).
    :param model: e.g. ``sora-2``, ``veo-3.1``; the API's default when None.
    :param seconds: clip length (sent as a string, as the API documents).
    :param size: ``WxH`` such as ``1280x720`` (gateways also take ``720P``...).
    :param input_reference: an image to animate: a local path, an http(s) URL, a ``data:`` URL, or bytes.
    :param extra_params: more fields passed through unchanged (model-specific parameters).
    :param conn_id: an ``aihubmix`` connection (``aihubmix_default``).

    Every other argument (``wait_for_completion``, ``deferrable``, ``timeout``, ``reattach``,
    ``on_orphaned_intent``, ``cancel_on_kill``, ``cancel_on_timeout``, ``end_from_trigger``, polling) is
    :class:`~.generate.GenerateVideoOperator`'s. Returns the job as a JSON dict (the final one when waiting);
    the id is also pushed at once under XCom key ``job_id``.
    """

    template_fields: Sequence[str] = (
        "prompt",
        "model",
        "seconds",
        "size",
        "input_reference",
        "extra_params",
        "conn_id",
    )
    template_fields_renderers = {"extra_params": "json"}

    def __init__(
        self,
        *,
        prompt: str,
        model: str | None = None,
        seconds: str | int | None = None,
        size: str | None = None,
        input_reference: str | bytes | os.PathLike[str] | None = None,
        extra_params: Mapping[str, Any] | str | None = None,
        conn_id: str = AIHubMixHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        fields = {
            "prompt": prompt,
            "model": model,
            "seconds": seconds,
            "size": size,
            "input_reference": input_reference,
            "extra_params": extra_params,
        }
        super().__init__(
            request=fields, conn_id=conn_id, provider=AIHubMixHook.provider, deferrable=deferrable, **kwargs
        )
        self.prompt = prompt
        self.model = model
        self.seconds = seconds
        self.size = size
        self.input_reference = input_reference
        # Kept as given: it may be a template or an XComArg until execute() renders it.
        self.extra_params = extra_params

    def request_fields(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "model": self.model,
            "seconds": self.seconds,
            "size": self.size,
            "input_reference": self.input_reference,
            "extra_params": self.extra_params,
        }

    def hook(self) -> AIHubMixHook:
        return AIHubMixHook(self.conn_id, status_overrides=self.status_overrides)


__all__ = [
    "JOB_ID_XCOM_KEY",
    "AIHubMixCreateVideoOperator",
    "_WaitTimeout",
    "as_params",
    "to_input_reference",
]
