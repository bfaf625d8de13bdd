"""Which Airflow this runs on, for the features that need a newer one (each falls back, never fails)."""

from __future__ import annotations

import warnings
from functools import cache

from airflow import __version__ as _airflow_version
from packaging.version import Version

#: Airflow runs a sensor's ``start_trigger_args`` (``start_from_trigger``) again from 3.3 (#55068).
AIRFLOW_V_3_3_PLUS = Version(Version(_airflow_version).base_version) >= Version("3.3.0")


@cache
def warn_once(feature: str, message: str) -> None:
    """One ``UserWarning`` per feature per process: a DAG file with a hundred such tasks warns once."""
    warnings.warn(message, UserWarning, stacklevel=3)
