"""One hook per video API, and the one table that names them.

Adding an API: write ``hooks/<api>.py`` (wire model, mapping, hook class) and add one line to
:data:`HOOKS`. The trigger, sensor, operators and provider registration all read this table.
"""

from __future__ import annotations

from airflow_provider_vidjobs.hooks.registry import HOOKS, hook_class

__all__ = ["HOOKS", "hook_class"]
