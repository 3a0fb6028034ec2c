"""The daemon's figures at one moment (`DaemonSnapshot`), taken off the job path.

A `SnapshotSampler` thread takes one every `interval_s`: queue depth (one read-only count
in the job store), backends as the pool last saw them, the daemon's health, images per
minute over the last five minutes, the data dir's disk and the GPUs. Whoever shows
figures (the `/metrics` gauges, ZMQ status replies, `dgx-pixels status`) reads the latest
snapshot, so a scrape or a status call never waits on the job store or on NVML::

    sampler = SnapshotSampler(take, interval_s=2.0, sinks=[metrics.set_snapshot])
    sampler.start()
    sampler.latest()   # the newest DaemonSnapshot (one is taken at start)
    sampler.stop()
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.service.gpu import GpuReading
from orchestrator.service.values import BackendInfo

__all__ = [
    "RATE_WINDOW_S",
    "DaemonSnapshot",
    "DiskUsage",
    "ImageRate",
    "SnapshotSampler",
    "disk_usage",
]

logger = logging.getLogger(__name__)

RATE_WINDOW_S = 300.0  # img/min is averaged over the last five minutes


@dataclass(frozen=True)
class DiskUsage:
    """The disk holding the data dir."""

    used_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class DaemonSnapshot:
    """What the daemon reports about itself at `taken_at` (epoch seconds)."""

    taken_at: float
    health: str  # "ok", or "degraded: …" (str(Health))
    health_ok: bool
    queued: int
    backends: tuple[BackendInfo, ...]
    images_per_minute: float
    disk: DiskUsage | None = None
    gpus: tuple[GpuReading, ...] = ()
    gpu_errors: Mapping[str, int] = field(default_factory=dict)
    gpu_note: str | None = None  # why there are no GPU figures, when there are none


def disk_usage(path: Path) -> DiskUsage | None:
    """The disk holding `path`, or None when it cannot be read (e.g. not created yet)."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return DiskUsage(usage.total - usage.free, usage.total)


class ImageRate:
    """Images written per minute over a sliding window (fed when jobs succeed).

    Args:
        window_s: How far back to count.
        clock: Epoch seconds (tests inject one).
    """

    def __init__(
        self, window_s: float = RATE_WINDOW_S, clock: Callable[[], float] = time.time
    ) -> None:
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._events: deque[tuple[float, int]] = deque()

    def add(self, images: int) -> None:
        """`images` were written now."""
        with self._lock:
            self._events.append((self._clock(), images))
            self._trim()

    def per_minute(self) -> float:
        """Images in the window, per minute of the window."""
        with self._lock:
            self._trim()
            total = sum(n for _, n in self._events)
        return total * 60.0 / self._window_s

    def _trim(self) -> None:
        horizon = self._clock() - self._window_s
        while self._events and self._events[0][0] < horizon:
            self._events.popleft()


class SnapshotSampler:
    """Takes a `DaemonSnapshot` every `interval_s` on its own thread and hands it on.

    Args:
        take: Builds one snapshot (may read the store; runs on the sampler thread).
        interval_s: Seconds between snapshots.
        sinks: Called with each new snapshot (e.g. `DaemonMetrics.set_snapshot`).
    """

    def __init__(
        self,
        take: Callable[[], DaemonSnapshot],
        interval_s: float,
        sinks: Sequence[Callable[[DaemonSnapshot], None]] = (),
    ) -> None:
        self._take = take
        self._interval_s = interval_s
        self._sinks = tuple(sinks)
        self._latest: DaemonSnapshot | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take the first snapshot now, then keep sampling in the background (idempotent)."""
        if self._thread is not None:
            return
        self.sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="dgxp-snapshot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def latest(self) -> DaemonSnapshot:
        """The newest snapshot while sampling; taken now when the sampler is not running."""
        latest = self._latest
        if latest is None or self._thread is None:
            return self.sample()
        return latest

    def sample(self) -> DaemonSnapshot:
        """Take a snapshot now and hand it to the sinks."""
        snapshot = self._take()
        self._latest = snapshot  # replaced whole: readers need no lock
        for sink in self._sinks:
            sink(snapshot)
        return snapshot

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.sample()
            except Exception:  # outer edge of the sampler loop: keep the last figures, go on
                logger.exception("could not take the daemon's status snapshot; retrying")
