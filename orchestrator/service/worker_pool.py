"""The service's worker threads: re-attach what a dead process left in flight, then claim
and run queued jobs. One daemon process per data directory runs workers for any job (an
`flock` on `<data_dir>/service.lock` says which); other processes only submit (see
`store_watch`). A short-lived CLI with no daemon around runs workers for its own jobs only,
without the lock (see `claims`); leases keep in-flight jobs to the process following them.

Fail loudly, never stall: a worker that meets a store error (locked, disk full, file gone)
logs it (rate-limited), reports it in the daemon's health, backs off (capped) and tries the
same step again; it never dies of it. A job whose files cannot be written for lack of space
fails with a message that says so and how to run it again.
"""

from __future__ import annotations

import collections
import errno
import fcntl
import functools
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from orchestrator.errors import DGXPixelsError, JobStateError, StoreError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore
from orchestrator.service.backend_pool import backoff_delay
from orchestrator.service.claims import Claims
from orchestrator.service.health import HealthBoard
from orchestrator.service.job_events import JobEventKind
from orchestrator.service.job_runner import JobRunner
from orchestrator.service.leases import LeaseKeeper
from orchestrator.service.log_context import job_context
from orchestrator.service.log_limit import RateLimitedLogger
from orchestrator.service.store_file import StoreFileGuard

__all__ = [
    "STORE_FILE_HEALTH_KEY",
    "STORE_HEALTH_KEY",
    "DataDirInUse",
    "WorkerPool",
    "data_dir_holder",
    "refuse_if_served",
]

logger = logging.getLogger(__name__)

IDLE_WAIT_S = 0.5
STORE_RETRY_CAP_S = 10.0  # longest pause between two tries of a failing store step
STORE_FILE_CHECK_S = 1.0  # how often the job database's identity is checked
STORE_HEALTH_KEY = "store"
STORE_FILE_HEALTH_KEY = "store_file"

# A next step a worker owes after an interruption (resume a job, record a failure); it may
# return a further one. It is retried as is while the store keeps failing.
_Pending = Callable[[], "_Pending | None"]


class _StoreTrouble(Exception):
    """A store error in the middle of a job: `resume` picks the job up again later."""

    def __init__(self, cause: BaseException, resume: _Pending) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.resume = resume


def _store_summary(exc: BaseException) -> str:
    """A few words for health: what kind of store trouble this is."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "job store locked"
    if _is_disk_full(exc) or "disk is full" in text:
        return "job store disk full"
    return "job store failing"


def _is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _disk_full_message(exc: OSError, job: Job, fallback: Path) -> str:
    # A failed write() names no file: then say the folder the job's files go to.
    where = exc.filename or job.out_dir or fallback
    return f"disk full writing {where}: free space, then `dgx-pixels jobs retry {job.id}`"


def _read_holder(lock_path: Path) -> str:
    try:
        return lock_path.read_text().strip() or "?"
    except OSError:
        return "?"


class DataDirInUse(DGXPixelsError):
    """Another process already serves the data directory (the message names its PID)."""

    def __init__(self, data_dir: Path, pid: str) -> None:
        super().__init__(
            f"data_dir={str(data_dir)!r} is already served by dgx-pixels pid {pid}; stop that "
            f"one first (kill -TERM {pid}) or point DGXP_DATA_DIR at another folder"
        )
        self.pid = pid


def refuse_if_served(data_dir: Path) -> None:
    """Raise `DataDirInUse` if another process serves `data_dir` now."""
    holder = data_dir_holder(data_dir)
    if holder is not None:
        raise DataDirInUse(data_dir, holder)


def data_dir_holder(data_dir: Path) -> str | None:
    """The PID (as written in `service.lock`) of the process serving `data_dir`, or None.

    A probe: the lock is taken and released at once when nobody holds it.
    """
    lock_path = Path(data_dir) / "service.lock"
    if not lock_path.exists():
        return None
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(lock_path)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


class WorkerPool:
    """`count` threads running jobs through `runner`.

    Args:
        store: The job store the workers claim from.
        runner: Runs one job.
        data_dir: Where `service.lock` lives.
        count: Worker threads.
        health: Where store trouble is reported (default: a board of its own).
        claims: Which jobs this process takes (default: any, with default leases).
    """

    def __init__(
        self,
        store: JobStore,
        runner: JobRunner,
        data_dir: Path,
        count: int,
        health: HealthBoard | None = None,
        claims: Claims | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.claims = claims or Claims(store, LeaseKeeper(store, lease_s=60.0, heartbeat_s=10.0))
        self.health = health or HealthBoard()
        self.store_file = StoreFileGuard(store.path)
        self._limited = RateLimitedLogger(logger)
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
        if self.claims.scope == "own":
            # A CLI runs only its own jobs: it holds no lock (leases keep in-flight jobs
            # apart, claims are atomic), it only hands its jobs over when a daemon serves.
            holder = data_dir_holder(self.lock_path.parent)
            if holder is not None:
                logger.info(
                    "data_dir %s is served by pid %s: jobs run there", self.lock_path.parent, holder
                )
                return False
        elif not self._take_lock():
            return False
        else:
            released = self.store.release_claims()
            in_flight = self.claims.takeovers(at_start=True)  # unleased, expired or our own
            if released or in_flight:
                logger.info(
                    "reconciling: %d claim(s) released, %d in flight", released, len(in_flight)
                )
            self._attach.extend(in_flight)
        self.claims.leases.start()
        self.runner.stopping.clear()
        for i in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"dgxp-worker-{i}", daemon=True)
            self._threads.append(thread)
            thread.start()
        watch = threading.Thread(target=self._watch_store_file, name="dgxp-store-file", daemon=True)
        self._threads.append(watch)
        watch.start()
        return True

    def _take_lock(self) -> bool:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            holder = _read_holder(self.lock_path)
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
        started = bool(self._threads)
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        self._threads.clear()
        if started:
            self.claims.leases.stop()  # the next process may re-attach our jobs at once
        if self._lock_file is not None:
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
        pending: _Pending | None = None
        failures = 0
        while not self.runner.stopping.is_set():
            try:
                pending = pending() if pending is not None else self._next_step(name)
            except _StoreTrouble as trouble:  # mid-job: resume that job once the store works
                pending, failures = trouble.resume, failures + 1
                self._back_off(trouble.cause, failures)
                continue
            except StoreError as exc:  # claiming or resuming: the same step is tried again
                failures += 1
                self._back_off(exc, failures)
                continue
            except Exception:  # outer edge of the worker loop: a bug here must not kill it
                logger.exception("worker %s: unexpected error; still serving", name)
                pending, failures = None, failures + 1
                self.runner.stopping.wait(backoff_delay(failures, cap_s=STORE_RETRY_CAP_S))
                continue
            if failures:
                failures = 0
                self._store_recovered()
        self.runner.close_streams()

    def _next_step(self, name: str) -> _Pending | None:
        """Re-attach, or claim and run, one job; wait a little when there is nothing to do."""
        job = self._next_attach()
        if job is not None:
            with self.claims.following(job.id):
                return self._guarded(job, name, functools.partial(self.runner.reattach, job))
        if self.health.problem(STORE_FILE_HEALTH_KEY) is None:  # never run jobs into a lost file
            job = self.claims.claim(name)  # any queued job, or only this CLI's own
            if job is not None:
                with self.claims.following(job.id):
                    return self._guarded(job, name, functools.partial(self.runner.run, job, name))
        with self._wake:
            self._wake.wait(IDLE_WAIT_S)
        return None

    def _guarded(self, job: Job, name: str, step: Callable[[], None]) -> _Pending | None:
        """Run one job step; whatever goes wrong, the worker keeps serving.

        Returns:
            What is still owed for this job (recording its failure), or None.

        Raises:
            _StoreTrouble: The store failed mid-step: the job is resumed once it works.
        """
        try:
            with job_context(job.id):  # every log line of the step names the job
                step()
        except StoreError as exc:
            raise _StoreTrouble(exc, functools.partial(self._resume, job.id, name)) from exc
        except OSError as exc:
            if not _is_disk_full(exc):
                return self._internal_error(job, exc)
            message = _disk_full_message(exc, job, self.runner.config.out_dir)
            logger.error("job %s: %s", job.short_id, message)
            return functools.partial(self._fail, job, message)
        except Exception as exc:  # outer edge of the worker loop: log, record, keep serving
            return self._internal_error(job, exc)
        return None

    def _internal_error(self, job: Job, exc: BaseException) -> _Pending:
        logger.error("job %s: unexpected error", job.short_id, exc_info=exc)
        return functools.partial(self._fail, job, f"internal error: {exc!r}")

    def _fail(self, job: Job, message: str) -> None:
        """Record a job's failure (retryable) and announce it; a store error propagates."""
        try:
            failed = self.store.mark_failed(job.id, message, retryable=True)
        except JobStateError:  # already final (cancelled meanwhile): nothing to record
            return
        self.runner.hub.publish(JobEventKind.FAILED, job.id, message=message, job=failed)

    def _resume(self, job_id: str, name: str) -> _Pending | None:
        """Pick up a job a store error interrupted, from what the store says about it now."""
        job = self.store.get(job_id)
        if job.state is JobState.QUEUED and job.worker == name:
            self.store.release(job.id, name)  # not sent yet: back to the queue, claimed anew
            self.wake()
        elif job.state in (JobState.SUBMITTED, JobState.RUNNING):  # collect, follow or resend
            with self.claims.following(job.id):
                return self._guarded(job, name, functools.partial(self.runner.reattach, job))
        return None

    def _back_off(self, exc: BaseException, failures: int) -> None:
        """Report store trouble in health and the log, then wait (capped; wakes on stop)."""
        cause = exc.__cause__ or exc
        summary = _store_summary(cause)
        if self.health.report(STORE_HEALTH_KEY, summary, str(cause)):
            self._limited.forget(STORE_HEALTH_KEY)  # a new kind of trouble is news at once
        delay = backoff_delay(failures, cap_s=STORE_RETRY_CAP_S)
        self._limited.warning(
            STORE_HEALTH_KEY,
            "%s (%s): %s; workers retry, next try in %.1f s",
            summary,
            self.store.path,
            cause,
            delay,
        )
        self.runner.stopping.wait(delay)

    def _store_recovered(self) -> None:
        problem = self.health.clear(STORE_HEALTH_KEY)
        if problem is not None:
            logger.info("job store works again (it was: %s)", problem)
        self._limited.forget(STORE_HEALTH_KEY)

    def _watch_store_file(self) -> None:
        """Every second: is the job database still the file the store opened?"""
        while not self.runner.stopping.wait(STORE_FILE_CHECK_S):
            problem = self.store_file.problem()
            if problem is None:
                if self.health.clear(STORE_FILE_HEALTH_KEY) is not None:
                    logger.info("job store file %s is back", self.store.path)
                continue
            if self.health.report(STORE_FILE_HEALTH_KEY, problem.summary, problem.detail):
                logger.error("%s: %s; no new job is started", problem.summary, problem.detail)
