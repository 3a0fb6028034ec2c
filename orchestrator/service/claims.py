"""Which jobs this process's workers take.

- Queued jobs: the daemon (`dgx-pixels serve`, and any long-lived service) takes any; a
  short-lived CLI (`generate`, `batch`) takes only the jobs it was asked to run, never an
  unrelated queued or retried one (it would be left running when the command exits).
- In-flight jobs (sent to a backend by some process): only the daemon re-attaches them, and
  only when their lease is missing, expired, or its own (`leases`). It looks at start and
  again every heartbeat, so a job whose process was killed is taken over once its lease runs
  out. A claim holds a lease too: a queued job claimed by a process that died before sending
  it goes back to the queue once that lease expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.models import Job
from orchestrator.jobs.store import JobStore
from orchestrator.service.leases import LeaseKeeper

__all__ = ["ClaimScope", "Claims"]

ClaimScope = Literal["any", "own"]


class Claims:
    """The claiming rules of one process.

    Args:
        store: The job store.
        leases: This process's leases.
        scope: "any" (the daemon) or "own" (a CLI: only ids given to `add_own`).
    """

    def __init__(self, store: JobStore, leases: LeaseKeeper, scope: ClaimScope = "any") -> None:
        self.store = store
        self.leases = leases
        self.scope = scope
        self._lock = threading.Lock()
        self._own: set[str] = set()
        self._following: set[str] = set()
        self._next_scan = 0.0

    def add_own(self, job_ids: Iterable[str]) -> None:
        """Jobs this process was asked to run (submitted or retried here)."""
        with self._lock:
            self._own.update(job_ids)

    def claim(self, worker: str, kind: JobKind = JobKind.GENERATE) -> Job | None:
        """The next queued job of `kind` this process may run, claimed for `worker`."""
        only = None
        if self.scope == "own":
            with self._lock:
                only = set(self._own)
            if not only:
                return None
        return self.store.claim_next_queued(worker, only=only, lease=self.leases.lease(), kind=kind)

    def takeovers(self, *, at_start: bool = False) -> list[Job]:
        """In-flight jobs this process now holds the lease of and must re-attach (the
        daemon only; a scan at most once per heartbeat unless `at_start`)."""
        now = time.time()
        with self._lock:
            if self.scope == "own" or (not at_start and now < self._next_scan):
                return []
            self._next_scan = now + self.leases.heartbeat_s
            following = set(self._following)
        self.store.release_lapsed_claims(now)  # claimed by a process that died: queue again
        taken: list[Job] = []
        for job in self.store.takeable(self.leases.owner, now):
            mine = job.lease is not None and job.lease.owner == self.leases.owner
            if job.id in following or (mine and not at_start):  # followed here already
                continue
            held = self.store.take_over(job.id, self.leases.lease(), now)
            if held is not None:
                taken.append(held)
        with self._lock:
            self._following.update(j.id for j in taken)
        return taken

    @contextmanager
    def following(self, job_id: str) -> Iterator[None]:
        """Mark the job as followed by this process while the block runs (a periodic scan
        never re-attaches it a second time, even if its lease lapsed meanwhile)."""
        with self._lock:
            self._following.add(job_id)
        try:
            yield
        finally:
            with self._lock:
                self._following.discard(job_id)
