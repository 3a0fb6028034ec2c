"""The service's worker threads: re-attach what a dead process left in flight, then claim
and run queued jobs. Only one process per data directory runs workers (an `flock` on
`<data_dir>/service.lock` says which), because re-attaching assumes nobody else follows
the in-flight jobs; other processes only submit (see `store_watch`).
"""

from __future__ import annotations

import collections
import fcntl
import functools
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from orchestrator.errors import DGXPixelsError, JobStateError
from orchestrator.jobs.models import Job
from orchestrator.jobs.store import JobStore
from orchestrator.service.claims import Claims
from orchestrator.service.job_runner import JobRunner
from orchestrator.service.leases import LeaseKeeper

__all__ = ["WorkerPool"]

logger = logging.getLogger(__name__)

IDLE_WAIT_S = 0.5


class WorkerPool:
    """`count` threads running jobs through `runner`.

    Args:
        store: The job store the workers claim from.
        runner: Runs one job.
        data_dir: Where `service.lock` lives.
        count: Worker threads.
        claims: Which jobs this process takes (default: any, with default leases).
    """

    def __init__(
        self,
        store: JobStore,
        runner: JobRunner,
        data_dir: Path,
        count: int,
        claims: Claims | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.claims = claims or Claims(store, LeaseKeeper(store, lease_s=60.0, heartbeat_s=10.0))
        self.lock_path = Path(data_dir) / "service.lock"
        self.count = count
        self._wake = threading.Condition()
        self._attach: collections.deque[Job] = collections.deque()
        self._threads: list[threading.Thread] = []
        self._lock_file: IO[str] | None = None

    def start(self) -> bool:
        """Take the data-dir lock, queue re-attachments, start the threads (idempotent).

        Returns:
            False when another service process holds the data directory: then that one
            runs the jobs and this one starts no workers.
        """
        if self._threads:
            return True
        if not self._take_lock():
            return False
        released = self.store.release_claims()
        in_flight = self.claims.takeovers(at_start=True)  # unleased, expired or our own
        if released or in_flight:
            logger.info("reconciling: %d claim(s) released, %d in flight", released, len(in_flight))
        self._attach.extend(in_flight)
        self.claims.leases.start()
        self.runner.stopping.clear()
        for i in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"dgxp-worker-{i}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return True

    def _take_lock(self) -> bool:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            logger.info(
                "data_dir %s is served by another dgx-pixels process (pid %s): jobs submitted "
                "here run there",
                self.lock_path.parent,
                holder,
            )
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the threads; jobs they follow stay in flight and are re-attached next start."""
        self.runner.stopping.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        self._threads.clear()
        if self._lock_file is not None:
            self.claims.leases.stop()  # the next process may re-attach our jobs at once
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def wake(self) -> None:
        """Tell idle workers there is work."""
        with self._wake:
            self._wake.notify_all()

    def interrupt_remote(self, url: str, prompt_id: str) -> None:
        """Best effort: stop a prompt on its backend (the job was cancelled)."""
        self.runner.interrupt(url, prompt_id)

    def _next_attach(self) -> Job | None:
        self._attach.extend(self.claims.takeovers())  # leases other processes let expire
        try:
            return self._attach.popleft()
        except IndexError:
            return None

    def _loop(self) -> None:
        name = f"{os.getpid()}:{threading.current_thread().name}"
        while not self.runner.stopping.is_set():
            job = self._next_attach()
            if job is not None:
                with self.claims.following(job.id):
                    self._guarded(job, functools.partial(self.runner.reattach, job))
                continue
            job = self.claims.claim(name)  # any queued job, or only this CLI's own
            if job is not None:
                with self.claims.following(job.id):
                    self._guarded(job, functools.partial(self.runner.run, job, name))
                continue
            with self._wake:
                self._wake.wait(IDLE_WAIT_S)
        self.runner.close_streams()

    def _guarded(self, job: Job, step: Callable[[], None]) -> None:
        """Run one job step; an unexpected error fails that job, the worker keeps serving."""
        try:
            step()
        except Exception as exc:  # outer edge of the worker loop: log, record, keep serving
            logger.exception("job %s: unexpected error", job.short_id)
            try:
                self.store.mark_failed(job.id, f"internal error: {exc!r}", retryable=True)
            except (JobStateError, DGXPixelsError):
                logger.warning("job %s: could not record the failure", job.short_id)
