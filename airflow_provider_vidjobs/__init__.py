"""Apache Airflow provider that waits on AI video-generation jobs and hands their metadata downstream."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
