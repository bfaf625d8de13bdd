"""The operators: create a video with any API (``GenerateVideoOperator``), read one, download one."""

from __future__ import annotations

from airflow_provider_vidjobs.operators.aihubmix import AIHubMixCreateVideoOperator
from airflow_provider_vidjobs.operators.generate import GenerateVideoOperator

__all__ = ["AIHubMixCreateVideoOperator", "GenerateVideoOperator"]
