"""What runs queued jobs in this process: the job runner, its worker threads, the claims and
leases that say whose jobs they are, cancel requests, and the watcher that follows jobs
another process runs.

`Service` builds one on first need, not in its constructor: the use cases that run no job
(pixelize, catalogues, `jobs list`) never import the runner, the WebSocket client or the
follow loop, which keeps `dgx-pixels pixelize` quick to start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orchestrator.errors import StoreError
from orchestrator.jobs.store import JobStore
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.claims import Claims, ClaimScope
from orchestrator.service.health import HealthBoard
from orchestrator.service.job_events import EventHub
from orchestrator.service.job_runner import CancelRegistry, JobRunner, RunnerConfig
from orchestrator.service.leases import LeaseKeeper
from orchestrator.service.outputs import FileHasher
from orchestrator.service.store_watch import StoreWatcher
from orchestrator.service.train_parts import TrainingParts
from orchestrator.service.train_runner import TrainRunner
from orchestrator.service.train_worker import TrainWorker
from orchestrator.service.worker_pool import STORE_FILE_HEALTH_KEY, WorkerPool
from orchestrator.settings import Settings
from orchestrator.workflows import TemplateLibrary

__all__ = ["JobRuntime", "RuntimeParts"]


@dataclass(frozen=True)
class RuntimeParts:
    """What the runtime shares with the service that owns it."""

    settings: Settings
    store: JobStore
    pool: BackendPool
    hub: EventHub
    templates: TemplateLibrary
    health: HealthBoard
    delivered: Callable[..., None]
    claim_scope: ClaimScope
    workers: int
    training: TrainingParts


class JobRuntime:
    """Worker threads over the store (backend workers and the trainer thread), or (when
    another process serves the data directory) a watcher that turns that process's progress
    into this one's events."""

    def __init__(self, parts: RuntimeParts) -> None:
        settings = parts.settings
        self.cancels = CancelRegistry()
        runner = JobRunner(
            parts.store,
            parts.pool,
            parts.hub,
            parts.templates,
            RunnerConfig(
                out_dir=settings.resolved_output_dir,
                models_dir=settings.resolved_models_dir,
                job_timeout_s=settings.job_timeout_s,
                max_attempts=settings.max_attempts,
            ),
            self.cancels,
            FileHasher(settings.data_dir / "model_hashes.json"),  # hashed once, not per run
            leases := LeaseKeeper(parts.store, settings.lease_s, settings.heartbeat_s),
            parts.delivered,
        )
        self.claims = Claims(parts.store, leases, parts.claim_scope)
        self.workers = WorkerPool(
            parts.store,
            runner,
            settings.data_dir,
            parts.workers,
            parts.health,
            self.claims,
        )
        self.trainer = TrainWorker(
            TrainRunner(
                parts.store, parts.hub, parts.training, leases, self.cancels.requested,
                runner.stopping,
            ),
            self.claims,
        )  # fmt: skip
        self._parts = parts
        self._watcher: StoreWatcher | None = None

    def start(self) -> None:
        """Start the workers, or the watcher when another process holds the data dir."""
        if not self.workers.start():
            self._watcher = StoreWatcher(self._parts.store, self._parts.hub)
            self._watcher.start()
            return
        self.trainer.start()

    @property
    def runs_jobs(self) -> bool:
        """True when this process's workers run the jobs (False: another process does)."""
        return self._watcher is None

    def stop(self, timeout_s: float) -> None:
        """Stop the workers (in-flight jobs stay recorded; a training run stops at its next
        step, to be resumed) and the watcher."""
        self.workers.runner.stopping.set()
        self.trainer.stop(timeout_s)  # before the workers end this process's leases
        self.workers.stop(timeout_s)
        if self._watcher is not None:
            self._watcher.stop()

    def check_store_file(self) -> None:
        """Refuse to queue into a job database deleted or replaced under this process.

        Raises:
            StoreError: The file is gone or another file stands at its path.
        """
        lost = self.workers.store_file.problem()
        if lost is not None:
            self._parts.health.report(STORE_FILE_HEALTH_KEY, lost.summary, lost.detail)
            raise StoreError(f"{lost.summary}: {lost.detail}")

    def queued(self, job_ids: Iterable[str]) -> None:
        """Jobs queued through this service: this process may run them; wake the workers."""
        self.claims.add_own(job_ids)
        self.workers.wake()
        self.trainer.wake()

    def interrupt_remote(self, url: str, prompt_id: str) -> None:
        """Best effort: stop a prompt on its backend (its job was cancelled)."""
        self.workers.interrupt_remote(url, prompt_id)
