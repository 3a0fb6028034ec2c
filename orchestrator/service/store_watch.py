"""Events for jobs that another process runs.

Only one service process per data directory runs workers (it holds the lock). Any other
(`dgx-pixels mcp`, a `generate` while `serve` runs) still submits into the shared job
store, and this watcher turns what it sees change there into the same `JobEvent`s, so
subscribers and `wait` work the same in both kinds of process. Previews are the one thing
that does not cross processes (they are never stored).
"""

from __future__ import annotations

import logging
import threading

from orchestrator.errors import StoreError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore
from orchestrator.service.job_events import EventHub, JobEvent, JobEventKind

__all__ = ["StoreWatcher"]

logger = logging.getLogger(__name__)

_KIND = {
    JobState.QUEUED: JobEventKind.QUEUED,
    JobState.RUNNING: JobEventKind.STARTED,
    JobState.SUCCEEDED: JobEventKind.SUCCEEDED,
    JobState.FAILED: JobEventKind.FAILED,
    JobState.CANCELLED: JobEventKind.CANCELLED,
}


def _started_between_polls(before: tuple[JobState, tuple[int, int]] | None, job: Job) -> bool:
    """True when `job` has finished after running, but no poll saw it running."""
    ran = job.started_at is not None and job.state in (JobState.SUCCEEDED, JobState.FAILED)
    return ran and (before is None or before[0] in (JobState.QUEUED, JobState.SUBMITTED))


class StoreWatcher:
    """Polls the newest jobs every `interval_s` and publishes their state/progress changes."""

    def __init__(self, store: JobStore, hub: EventHub, interval_s: float = 0.2) -> None:
        self.store = store
        self.hub = hub
        self.interval_s = interval_s
        self._seen: dict[str, tuple[JobState, tuple[int, int]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        hub.subscribe(self._note)  # what this process publishes itself is not repeated

    def _note(self, event: JobEvent) -> None:
        if event.job is not None:
            with self._lock:
                self._seen[event.job_id] = (event.job.state, event.job.progress)

    def start(self) -> None:
        """Take a silent baseline, then watch in a thread."""
        for job in self.store.list_jobs(limit=500):
            self._seen[job.id] = (job.state, job.progress)
        self._thread = threading.Thread(target=self._loop, name="dgxp-store-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                jobs = self.store.list_jobs(limit=500)
            except StoreError:  # outer edge of the watch loop: report, keep watching
                logger.exception("cannot read the job store; retrying")
                continue
            for job in jobs:
                self._publish_change(job)

    def _publish_change(self, job: Job) -> None:
        with self._lock:
            before = self._seen.get(job.id)
            self._seen[job.id] = (job.state, job.progress)
        if before == (job.state, job.progress):
            return
        if before is None or before[0] is not job.state:
            if _started_between_polls(before, job):
                # A job can run start to finish between two polls; subscribers still get
                # the queued -> started -> finished sequence this process would have sent.
                self.hub.publish(JobEventKind.STARTED, job.id, job=job)
            kind = _KIND.get(job.state)
            if kind is not None:
                self.hub.publish(kind, job.id, message=job.error or "", job=job)
        elif job.progress != before[1]:
            value, maximum = job.progress
            self.hub.publish(JobEventKind.PROGRESS, job.id, value=value, maximum=maximum)
