"""The OpenLineage run facet of a video job (imports OpenLineage: only :mod:`lineage` imports this, lazily)."""

from __future__ import annotations

from attrs import define
from openlineage.client.facet_v2 import RunFacet

#: The key of :class:`VidjobsRunFacet` in a run's facets.
FACET_NAME = "vidjobs"


@define
class VidjobsRunFacet(RunFacet):
    """What the video API said about the job this task made, waited on or downloaded.

    :param vendor: the API (``aihubmix``, ``tensorpix``, ``replicate``: ``VideoJob.provider``).
    :param jobId: the vendor's job id.
    :param model: the model that made the video, when the API names it.
    :param status: the job's normalized status when the task ended (``succeeded``, ``failed``...).
    :param durationSeconds: how long the vendor took, from the job's creation (or start) to its end.
    :param cost: what the job cost, as a decimal string in the vendor's unit, where the API says.
    """

    vendor: str | None = None
    jobId: str | None = None  # OpenLineage facets are camelCase
    model: str | None = None
    status: str | None = None
    durationSeconds: float | None = None
    cost: str | None = None
