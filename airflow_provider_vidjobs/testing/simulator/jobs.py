"""Simulated jobs (vendor-neutral: each API module subclasses ``Job`` with its own fields) and their store.

A job's phase and progress are computed from the clock and its timeline on every read: nothing ticks
in the background, so a thousand waiting jobs cost nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

from airflow_provider_vidjobs.testing.simulator.timeline import Timeline

if TYPE_CHECKING:
    from airflow_provider_vidjobs.testing.simulator.faults import FaultRule

#: Phases every job goes through; the vendor modules spell them for the wire.
QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"


@dataclasses.dataclass
class Job:
    """One simulated job. ``created`` and all derived times are simulated unix seconds."""

    api: str
    id: str
    created: float
    timeline: Timeline
    prompt: str
    model: str
    rng: random.Random
    faults: list[FaultRule] = dataclasses.field(default_factory=list)
    #: A second id the API serves the job's video under (indexed: ``JobStore.by_video_id``), or "".
    video_id: str = ""

    def phase(self, now: float) -> tuple[str, float]:
        """(phase, progress 0-100) at simulated time ``now``, before noise."""
        t = self.timeline
        elapsed = now - self.created
        if t.outcome == "stuck_queued" or elapsed < t.queued_s:
            return QUEUED, 0.0
        run = elapsed - t.queued_s
        if t.outcome == "stuck":
            if t.running_s <= 0 or run >= t.running_s:
                return RUNNING, t.stuck_progress
            return RUNNING, min(t.stuck_progress, 100.0 * run / t.running_s)
        if run < t.running_s:
            return RUNNING, min(99.0, 100.0 * run / t.running_s)
        if t.outcome == COMPLETED:
            return COMPLETED, 100.0
        return FAILED, 0.0

    def noisy(self, progress: float) -> float:
        """Progress with the timeline's noise (running phase only; may go backwards)."""
        amp = self.timeline.progress_noise
        if amp <= 0:
            return progress
        return max(0.0, min(99.0, progress + self.rng.uniform(-amp, amp)))

    def started_at(self, now: float) -> float | None:
        """When the job left the queue, or None while queued."""
        if self.timeline.started_at is not None:
            return self.timeline.started_at
        t = self.timeline
        if t.outcome == "stuck_queued" or now - self.created < t.queued_s:
            return None
        return self.created + t.queued_s

    def finished_at(self, now: float) -> float | None:
        """When the job completed or failed, or None while it waits."""
        phase, _ = self.phase(now)
        if phase not in (COMPLETED, FAILED):
            return None
        if self.timeline.completed_at is not None:
            return self.timeline.completed_at
        return self.created + self.timeline.queued_s + self.timeline.running_s


class JobStore:
    """All live jobs by id (insertion order = creation order), plus the video-id index."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._videos: dict[str, str] = {}

    def add(self, job: Job) -> None:
        """Store a job; an explicit id that is already used is a conflict."""
        if job.id in self._jobs:
            raise KeyError(job.id)
        self._jobs[job.id] = job
        if job.video_id:
            self._videos[job.video_id] = job.id

    def get(self, job_id: str, api: str | None = None) -> Job | None:
        """The job, or None if unknown, deleted, or of another API."""
        job = self._jobs.get(job_id)
        if job is None or (api is not None and job.api != api):
            return None
        return job

    def by_video_id(self, video_id: str) -> Job | None:
        """The job whose generated video has this id."""
        job_id = self._videos.get(video_id)
        return self._jobs.get(job_id) if job_id else None

    def delete(self, job_id: str) -> Job | None:
        """Forget a job (its GETs 404 from now on); returns it, or None if unknown."""
        job = self._jobs.pop(job_id, None)
        if job is not None and job.video_id:
            self._videos.pop(job.video_id, None)
        return job

    def all(self, api: str | None = None) -> Iterator[Job]:
        """Jobs in creation order, optionally of one API."""
        return (j for j in list(self._jobs.values()) if api is None or j.api == api)

    def clear(self) -> None:
        """Drop every job."""
        self._jobs.clear()
        self._videos.clear()
