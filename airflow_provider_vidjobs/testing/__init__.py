"""Test helpers for users of the provider: the API simulator and its pytest fixture.

Nothing here imports Airflow.
"""

from __future__ import annotations
