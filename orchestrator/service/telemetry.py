"""The service's own figures: status snapshots, img/min and (in a daemon) its metrics.

`ServiceTelemetry` ties the pieces to one service: it feeds `DaemonMetrics` from the event
hub, the backend pool's health checks and the runner's deliveries, counts images for the
img/min rate, and builds each `DaemonSnapshot` (taken by a `SnapshotSampler` thread while
the service runs, on demand before it starts).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import StoreError
from orchestrator.jobs.models import Job
from orchestrator.jobs.states import JobState
from orchestrator.jobs.store import JobStore
from orchestrator.service.backend_pool import BackendPool
from orchestrator.service.gpu import GpuTelemetry
from orchestrator.service.health import HealthBoard
from orchestrator.service.job_events import EventHub, JobEvent, JobEventKind
from orchestrator.service.snapshot import DaemonSnapshot, ImageRate, SnapshotSampler, disk_usage

if TYPE_CHECKING:
    from orchestrator.service.metrics import DaemonMetrics

__all__ = ["ServiceTelemetry"]


class ServiceTelemetry:
    """Status snapshots and metrics of one service.

    Args:
        store: The job store (queue depth: one read-only count per snapshot).
        pool: The backend pool (its last health, never probed here).
        health: The daemon's health board.
        hub: The service's event hub (image counts, job metrics).
        data_dir: Whose disk is reported.
        interval_s: Seconds between snapshots once started.
        metrics: The daemon's metric families, if this process exports them.
        gpus: GPU telemetry, if this process reports GPUs.
    """

    def __init__(
        self,
        store: JobStore,
        pool: BackendPool,
        health: HealthBoard,
        hub: EventHub,
        data_dir: Path,
        interval_s: float,
        metrics: DaemonMetrics | None = None,
        gpus: GpuTelemetry | None = None,
    ) -> None:
        self._store = store
        self._pool = pool
        self._health = health
        self._data_dir = data_dir
        self._gpus = gpus
        self._last_queued = 0
        self.metrics = metrics
        self.rate = ImageRate()
        hub.subscribe(self._count_images)
        sinks: list[Callable[[DaemonSnapshot], None]] = []
        if metrics is not None:
            hub.subscribe(metrics.observe_event)
            pool.checked = metrics.observe_health_check
            sinks.append(metrics.set_snapshot)
        self.sampler = SnapshotSampler(self.take, interval_s, sinks)

    def start(self) -> None:
        """Start the snapshot thread (a status reply then never waits on the store)."""
        self.sampler.start()

    def stop(self) -> None:
        """Stop the snapshot thread and release NVML."""
        self.sampler.stop()
        if self._gpus is not None:
            self._gpus.close()

    def delivered(self, job: Job, seconds: float) -> None:
        """The runner wrote a succeeded job's files (the `delivering` phase)."""
        if self.metrics is not None:
            self.metrics.observe_delivery(job, seconds)

    def pixelized(self, seconds: float) -> None:
        """One picture was pixelized in this process."""
        if self.metrics is not None:
            self.metrics.observe_pixelize(seconds)

    def latest(self) -> DaemonSnapshot:
        """The newest snapshot (taken now when the sampler is not running)."""
        return self.sampler.latest()

    def take(self) -> DaemonSnapshot:
        """One snapshot now: one count in the store, nothing probed over the network."""
        health = self._health.snapshot()
        gpus = self._gpus.read() if self._gpus is not None else ()
        return DaemonSnapshot(
            taken_at=time.time(),
            health=str(health),
            health_ok=health.ok,
            queued=self._queued(),
            backends=tuple(self._pool.infos()),
            images_per_minute=self.rate.per_minute(),
            disk=disk_usage(self._data_dir),
            gpus=gpus,
            gpu_errors=self._gpus.errors if self._gpus is not None else {},
            gpu_note=self._gpus.why_none if self._gpus is not None else "GPU telemetry is off",
        )

    def _queued(self) -> int:
        # Store trouble is reported in health by the workers; keep the last count meanwhile.
        with contextlib.suppress(StoreError):
            self._last_queued = self._store.count(JobState.QUEUED)
        return self._last_queued

    def _count_images(self, event: JobEvent) -> None:
        if event.kind is JobEventKind.SUCCEEDED and event.job is not None:
            self.rate.add(len(event.job.outputs))
