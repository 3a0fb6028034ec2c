"""The trainer thread: one training run at a time, in the process that runs jobs.

Training runs in this process (not on a ComfyUI backend), one job at a time, beside the
backend workers and under the same rules: a queued `train` job is claimed with a lease
(the daemon takes any, a CLI only its own), the lease is renewed by the process's
heartbeat, and a `running` train job whose lease lapsed (its daemon was killed) is taken
over by the daemon and resumed from its newest checkpoint. Fail loudly, never stall: a
store error is logged and retried with backoff; anything unexpected fails the job and the
thread keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time

from orchestrator.errors import JobStateError, StoreError
from orchestrator.jobs.kinds import JobKind
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.service.backend_pool import backoff_delay
from orchestrator.service.claims import Claims
from orchestrator.service.log_context import job_context
from orchestrator.service.log_limit import RateLimitedLogger
from orchestrator.service.train_runner import TrainRunner

__all__ = ["TrainWorker"]

logger = logging.getLogger(__name__)

_IDLE_WAIT_S = 0.5
_RETRY_CAP_S = 10.0


class TrainWorker:
    """The thread that claims and runs `train` jobs.

    Args:
        runner: Runs one job.
        claims: This process's claiming rules and leases (shared with the backend workers).
    """

    def __init__(self, runner: TrainRunner, claims: Claims) -> None:
        self.runner = runner
        self.claims = claims
        self.store = runner.store
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._limited = RateLimitedLogger(logger)
        self._next_scan = 0.0

    def start(self) -> None:
        """Start the thread (idempotent); `runner.stopping` stops it."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="dgxp-trainer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Wait for the thread (a run in progress stops at its next step, checkpoints kept)."""
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("trainer thread still stopping after %.0f s", timeout_s)
            self._thread = None

    def wake(self) -> None:
        """A train job was queued: look now."""
        with self._wake:
            self._wake.notify_all()

    def _loop(self) -> None:
        failures = 0
        while not self.runner.stopping.is_set():
            try:
                ran = self._step()
            except StoreError as exc:  # claiming or taking over: tried again after a pause
                failures += 1
                self._limited.warning("store", "trainer: %s; retrying", exc)
                self.runner.stopping.wait(backoff_delay(failures, cap_s=_RETRY_CAP_S))
                continue
            except Exception:  # outer edge of the trainer thread: a bug here must not kill it
                failures += 1
                logger.exception("trainer: unexpected error; still serving")
                self.runner.stopping.wait(backoff_delay(failures, cap_s=_RETRY_CAP_S))
                continue
            failures = 0
            if not ran:
                with self._wake:
                    self._wake.wait(_IDLE_WAIT_S)

    def _step(self) -> bool:
        """Resume one taken-over run, or claim and run one queued; False when idle."""
        job = self._takeover()
        if job is not None:
            self._guarded(job, resume=True)
            return True
        # A read first: claiming takes the store's write lock, which an idle poll every half
        # second would contend for with the backend workers.
        if not self.store.count(JobState.QUEUED, kind=JobKind.TRAIN):
            return False
        job = self.claims.claim("trainer", kind=JobKind.TRAIN)
        if job is None:
            return False
        self._guarded(job, resume=False)
        return True

    def _takeover(self) -> Job | None:
        """A running train job whose process died (its lease lapsed), now leased to us."""
        now = time.time()
        if self.claims.scope != "any" or now < self._next_scan:
            return None
        self._next_scan = now + self.claims.leases.heartbeat_s
        owner = self.claims.leases.owner
        for job in self.store.takeable(owner, now, kind=JobKind.TRAIN):
            held = self.store.take_over(job.id, self.claims.leases.lease(), now)
            if held is not None:
                logger.info("job %s: training taken over; resuming", held.short_id)
                return held
        return None

    def _guarded(self, job: Job, *, resume: bool) -> None:
        with job_context(job.id), self.claims.following(job.id):
            try:
                self.runner.run(job, resume=resume)
            except StoreError:
                raise
            except Exception as exc:  # outer edge of the trainer thread: record, keep serving
                logger.exception("job %s: training failed unexpectedly", job.short_id)
                self._fail(job, f"internal error: {exc!r}")

    def _fail(self, job: Job, message: str) -> None:
        try:
            self.runner.fail(job.id, message, retryable=True)
        except (StoreError, JobStateError) as exc:
            logger.error("job %s: failure not recorded: %s", job.short_id, exc)
