"""The TUI's picture of the daemon's jobs, kept consistent with snapshot + seq rules.

Pure (no sockets, no Textual). The rules, from `docs/zmq-protocol.md`:

1. Load a `snapshot`: its jobs are the state after event `seq`.
2. Apply an event whose seq is exactly the last seq + 1; ignore seq ≤ last (already in
   the snapshot); any other seq, a heartbeat ahead of us, or a new epoch means events were
   missed: ask for a new snapshot.
3. A progress or preview event never moves a finished job back: the backend may still
   report steps it ran before a cancel took effect ("running 100 %" for a cancelled job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.wire.zmq_protocol import HeartbeatEvent, SnapshotResult, WireJob

__all__ = ["Applied", "JobBook"]

_STEP_EVENTS = frozenset({"job_progress", "job_preview"})  # sampler reports, not state changes


class Applied(StrEnum):
    """What `JobBook.apply` did with an event."""

    APPLIED = "applied"
    STALE = "stale"  # already reflected in the snapshot
    GAP = "gap"  # events were missed: take a new snapshot
    ALIVE = "alive"  # a heartbeat that agrees with us


@dataclass
class JobBook:
    """Jobs by id, newest first, plus where in the event stream they are from."""

    epoch: str | None = None
    seq: int = -1  # -1: no snapshot yet, so every event is a gap
    jobs: dict[str, WireJob] = field(default_factory=dict)
    previews: dict[str, bytes] = field(default_factory=dict)

    def load(self, snapshot: SnapshotResult) -> None:
        """Replace everything with a snapshot."""
        self.epoch = snapshot.epoch
        self.seq = snapshot.seq
        self.jobs = {job.id: job for job in snapshot.jobs}

    def apply(self, event: Any, image: bytes | None = None) -> Applied:
        """Apply one event (see the module rules); never raises."""
        if isinstance(event, HeartbeatEvent):
            if self.seq < 0 or event.epoch != self.epoch or event.seq > self.seq:
                return Applied.GAP
            return Applied.ALIVE
        if self.seq < 0:
            return Applied.GAP
        if event.seq <= self.seq:
            return Applied.STALE
        if event.seq != self.seq + 1:
            return Applied.GAP
        self.seq = event.seq
        if not (event.type in _STEP_EVENTS and self._finished(event.job_id)):
            self.upsert(event.job)
        if event.type == "job_preview" and image:
            self.previews[event.job_id] = image
        return Applied.APPLIED

    def _finished(self, job_id: str) -> bool:
        known = self.jobs.get(job_id)
        return known is not None and known.state.is_terminal

    def upsert(self, job: WireJob) -> None:
        """Record a job (from an event or a reply); new jobs go to the top."""
        if job.id not in self.jobs:
            self.jobs = {job.id: job, **self.jobs}
        else:
            self.jobs[job.id] = job

    def ordered(self) -> list[WireJob]:
        """Newest first by creation time."""
        return sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)

    def recent_outputs(self, limit: int = 12) -> list[WireJob]:
        """Succeeded jobs with an output, newest first (the gallery)."""
        done = [j for j in self.ordered() if j.state == "succeeded" and j.outputs]
        return done[:limit]
