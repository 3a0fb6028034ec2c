"""Running one training job in this process: the story of a `train` job.

`TrainRunner.run(job, resume=...)` reads the stored request, records the attempt, runs a
`TrainerBackend` (sd-scripts or the embedded trainer) in the job's run folder, turns every
progress report into the job's progress, its run log and a `JobEvent`, and on success
registers the LoRA (card, trigger, collision rules) and records where it went. The backend
stops when asked (`should_stop`): a cancel (the job is already `cancelled`), the time guard
(the job fails saying why, its checkpoints kept) or the process stopping (the job stays
`running`; the next daemon takes it over once its lease lapses and resumes it from its
newest checkpoint).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from orchestrator.errors import JobStateError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore
from orchestrator.service.job_events import EventHub, JobEventKind
from orchestrator.service.leases import LeaseKeeper
from orchestrator.service.train_guard import RunShape, TimeGuard
from orchestrator.service.train_jobs import (
    TrainParams,
    TrainResult,
    append_progress,
    work_dir_for,
    write_result,
)
from orchestrator.service.train_parts import TrainingParts
from training.backend import (
    StopRequested,
    TrainerBackend,
    TrainOutcome,
    TrainProgress,
    TrainRequest,
)
from training.errors import TrainerCrashed, TrainingError

__all__ = ["TrainRunner"]

logger = logging.getLogger(__name__)

_STORE_CHECK_S = 1.0  # how often a run looks for a cancel made by another process
_PROGRESS_STORE_S = 0.5  # at most this often is a plain step's progress written to the store


class _Stop:
    """Why a run is being stopped (the first reason wins)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.kind: str | None = None  # "cancel" | "guard" | "shutdown"

    def set(self, kind: str, reason: str) -> None:
        if self.kind is None:
            self.kind, self.reason = kind, reason


class TrainRunner:
    """Runs train jobs and reports through the store and the event hub.

    Args:
        store: The job store.
        hub: Where job events go.
        parts: Trainer choice, registry, device and data dir.
        leases: This process's leases (recorded on the job while it runs).
        cancelled: Whether this process was asked to cancel a job id.
        stopping: Set when the process stops (a run then stays `running`, to be resumed).
    """

    def __init__(
        self,
        store: JobStore,
        hub: EventHub,
        parts: TrainingParts,
        leases: LeaseKeeper,
        cancelled: Callable[[str], bool],
        stopping: threading.Event,
    ) -> None:
        self.store = store
        self.hub = hub
        self.parts = parts
        self.leases = leases
        self.cancelled = cancelled
        self.stopping = stopping

    # --- the story of one run ---------------------------------------------------------------
    def run(self, job: Job, *, resume: bool) -> None:
        """Run a claimed queued job (`resume=False`) or a taken-over running one to the end.

        Args:
            job: The job, claimed or taken over by this process.
            resume: Continue from the newest checkpoint of its run folder.
        """
        # 1. The stored request; a job whose params do not decode can never run.
        try:
            params = TrainParams.from_params(job.params)
        except (KeyError, TypeError, ValueError) as exc:
            self.fail(job.id, f"stored train request unreadable: {exc}", retryable=False)
            return
        # 2. The trainer (sd-scripts when configured, else embedded).
        try:
            backend = self.parts.choose_trainer()
        except TrainingError as exc:
            self.fail(job.id, str(exc), retryable=False)
            return
        # 3. Record the attempt (a taken-over job is already running).
        work_dir = work_dir_for(self.parts.data_dir, job.id)
        if not self._start(job, backend.name):
            return
        request = params.request(
            work_dir,
            resume=resume or job.attempts > 0,  # a retried run resumes too
            device=self.parts.resolved_device(),
        )
        # 4. Train, then register the LoRA (and evaluate it, when asked and available).
        shape = RunShape.of(backend.name, request.device, params.base_checkpoint, params.spec)
        self._train(job, backend, request, params, shape)

    def _start(self, job: Job, trainer: str) -> bool:
        """queued -> submitted -> running with our lease (a taken-over job is already one of
        the later two); False if it was cancelled meanwhile."""
        if job.state is JobState.RUNNING:
            return True
        try:
            if job.state is JobState.QUEUED:
                lease = self.leases.lease()
                self.store.mark_submitted(job.id, uuid.uuid4().hex, f"trainer:{trainer}", lease)
            running = self.store.mark_running(job.id)
        except JobStateError:
            return False
        self.hub.publish(JobEventKind.STARTED, job.id, message=f"trainer:{trainer}", job=running)
        return True

    def _train(
        self,
        job: Job,
        backend: TrainerBackend,
        request: TrainRequest,
        params: TrainParams,
        shape: RunShape,
    ) -> None:
        stop = _Stop()
        guard = TimeGuard(params.max_hours, time.monotonic())
        on_progress, should_stop = self._callbacks(job, request.work_dir, guard, stop)
        logger.info(
            "job %s: training %s with %s on %s (%d steps%s)",
            job.short_id,
            params.name,
            backend.name,
            request.device,
            params.spec.steps,
            ", resuming" if request.resume else "",
        )
        try:
            outcome = backend.train(request, on_progress, should_stop)
        except StopRequested:
            self._record_speed(shape, guard)
            self._stopped(job, stop)
            return
        except TrainerCrashed as exc:
            self.fail(job.id, f"{backend.name} trainer crashed: {exc}", retryable=True)
            return
        except TrainingError as exc:
            self.fail(job.id, str(exc), retryable=False)
            return
        self._record_speed(shape, guard)
        self._finish(job, outcome, params, request.work_dir)

    def _callbacks(
        self, job: Job, work_dir: Path, guard: TimeGuard, stop: _Stop
    ) -> tuple[Callable[[TrainProgress], None], Callable[[], bool]]:
        checked = [time.monotonic(), time.monotonic()]  # last store read, last progress write

        def on_progress(progress: TrainProgress) -> None:
            message = guard.observe(progress, time.monotonic())
            if message is not None:
                logger.warning("job %s: %s", job.short_id, message)
                stop.set("guard", message)
                progress = replace(progress, message=message)
            append_progress(work_dir, progress)
            now = time.monotonic()
            notable = progress.val_loss is not None or progress.sample is not None
            if (
                notable
                or progress.step >= progress.total_steps
                or (now - checked[1] >= _PROGRESS_STORE_S)
            ):
                checked[1] = now
                self.store.set_progress(job.id, progress.step, progress.total_steps)
            self.hub.publish(
                JobEventKind.PROGRESS,
                job.id,
                value=progress.step,
                maximum=progress.total_steps,
                message=progress.message,
                train=progress,
            )

        def should_stop() -> bool:
            if stop.kind is not None:
                return True
            if self.cancelled(job.id):
                stop.set("cancel", "cancelled")
            elif self.stopping.is_set():
                stop.set("shutdown", "the process is stopping")
            elif time.monotonic() - checked[0] >= _STORE_CHECK_S:
                checked[0] = time.monotonic()  # `jobs cancel` from another process
                if self.store.get(job.id).state is JobState.CANCELLED:
                    stop.set("cancel", "cancelled")
            return stop.kind is not None

        return on_progress, should_stop

    # --- outcomes ---------------------------------------------------------------------------
    def _stopped(self, job: Job, stop: _Stop) -> None:
        if stop.kind == "guard":
            self.fail(job.id, stop.reason or "time guard", retryable=True)
        elif stop.kind == "shutdown":
            logger.info(
                "job %s: stopped with the process; the next daemon resumes it", job.short_id
            )
        # cancel: `Service.cancel` already recorded and announced it

    def _finish(self, job: Job, outcome: TrainOutcome, params: TrainParams, work_dir: Path) -> None:
        if self.store.get(job.id).state.is_terminal:  # cancelled as it finished
            return
        try:
            result = self.parts.registry.register(outcome, params)
        except TrainingError as exc:
            self.fail(job.id, f"registering the LoRA: {exc}", retryable=False)
            return
        if params.evaluate and self.parts.evaluate is not None:
            result = self._evaluate(job, result, params, work_dir)
        write_result(work_dir, result)
        try:
            done = self.store.mark_succeeded(job.id, [])
        except JobStateError as exc:
            logger.warning("job %s: not recorded as succeeded: %s", job.short_id, exc)
            return
        logger.info("job %s: LoRA %s registered at %s", job.short_id, params.name, result.lora_path)
        self.hub.publish(JobEventKind.SUCCEEDED, job.id, message=result.lora_path, job=done)

    def _evaluate(
        self, job: Job, result: TrainResult, params: TrainParams, work_dir: Path
    ) -> TrainResult:
        assert self.parts.evaluate is not None
        try:
            return self.parts.evaluate(result, params, work_dir)
        except (TrainingError, OSError) as exc:  # the LoRA stands; say the report is missing
            logger.warning("job %s: evaluation failed: %s", job.short_id, exc)
            return result

    def _record_speed(self, shape: RunShape, guard: TimeGuard) -> None:
        if guard.seconds_per_step is not None:
            self.parts.speeds.record(shape, guard.seconds_per_step)

    def fail(self, job_id: str, error: str, *, retryable: bool) -> None:
        """Record the job's failure and announce it (nothing if it is final already)."""
        try:
            failed = self.store.mark_failed(job_id, error, retryable)
        except JobStateError:  # cancelled meanwhile
            return
        logger.warning("job %s: failed: %s", job_id[:8], error)
        self.hub.publish(JobEventKind.FAILED, job_id, message=error, job=failed)
