"""The create request of an API that can create: a pydantic model declared in the API's hook module.

A hook names its model in :attr:`VideoJobHook.request_model`; ``GenerateVideoOperator`` validates a user's
request against it (at DAG parse time where it can, always after rendering) and hands
:meth:`CreateRequest.create_kwargs` to :meth:`VideoJobHook.create_job`. Those kwargs are also what a
re-attach record's fingerprint is computed from, so a model must not change them for an unchanged request.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict


class CreateRequest(BaseModel):
    """Base of the per-API create requests: unknown fields are refused (a typo is not silently dropped)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    def create_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the hook's create call (its ``create_job(request)``), every field included."""
        return {name: getattr(self, name) for name in type(self).model_fields}


def as_params(value: Any, field: str = "extra_params") -> dict[str, Any]:
    """A dict field as rendered: a dict, or the text of one (a Jinja template renders a dict as text)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise ValueError(f"{field} rendered to text that is not a dict: {value[:200]!r}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"{field} must be a dict of API fields, not {type(value).__name__}")
    return dict(value)
