"""Job events the service publishes to its subscribers (CLI progress bars, ZMQ, MCP, TUI).

`JobEvent` is a frozen in-process value; adapters that put it on a wire convert it to
their own pydantic message. `seq` increases by one per event across the whole service, so
a subscriber can spot gaps and order events from several jobs.

`EventHub` is the fan-out: callbacks run synchronously on the publishing (worker) thread,
so they must be quick (hand off to a queue); one that raises is logged and the others still
get the event.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from orchestrator.jobs.models import Job

if TYPE_CHECKING:
    from training.backend import TrainProgress

__all__ = ["EventHub", "JobEvent", "JobEventKind", "Subscriber"]

logger = logging.getLogger(__name__)


class JobEventKind(StrEnum):
    """What happened to a job."""

    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    PREVIEW = "preview"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobEvent:
    """One thing that happened to one job.

    Attributes:
        kind: What happened.
        job_id: Which job.
        seq: Service-wide, strictly increasing sequence number.
        value: Progress value (steps done) for `progress`.
        max: Progress maximum for `progress`.
        preview_png: Image bytes for `preview` (PNG, or JPEG when the backend sends JPEG;
            `preview_mime` says which).
        message: Human text: the error for `failed`, the reason for `cancelled`, the
            backend URL for `started` …
        job: Snapshot of the job after the event (None for `progress`/`preview`, which are
            too frequent to snapshot).
        preview_mime: MIME type of `preview_png`.
        timestamp: Epoch seconds when published.
        train: A training job's report (step, loss, lr, it/s, ETA, validation loss,
            sample) on its `progress` events; `value`/`max` are its step and total.
    """

    kind: JobEventKind
    job_id: str
    seq: int
    value: int = 0
    max: int = 0
    preview_png: bytes | None = None
    message: str = ""
    job: Job | None = None
    preview_mime: str | None = None
    timestamp: float = field(default_factory=time.time)
    train: TrainProgress | None = None


Subscriber = Callable[[JobEvent], None]


class EventHub:
    """Thread-safe publish/subscribe with a monotonically increasing `seq`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # a callback may publish
        self._subscribers: dict[int, Subscriber] = {}
        self._ids = itertools.count()
        self._seq = 0

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register `callback`; returns a function that unsubscribes it (idempotent)."""
        with self._lock:
            key = next(self._ids)
            self._subscribers[key] = callback

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers.pop(key, None)

        return unsubscribe

    def publish(
        self,
        kind: JobEventKind,
        job_id: str,
        *,
        value: int = 0,
        maximum: int = 0,
        preview: bytes | None = None,
        preview_mime: str | None = None,
        message: str = "",
        job: Job | None = None,
        train: TrainProgress | None = None,
    ) -> JobEvent:
        """Stamp the next `seq` and deliver the event to every subscriber, in order."""
        with self._lock:
            self._seq += 1
            event = JobEvent(
                kind=kind,
                job_id=job_id,
                seq=self._seq,
                value=value,
                max=maximum,
                preview_png=preview,
                message=message,
                job=job,
                preview_mime=preview_mime,
                train=train,
            )
            # Delivering under the lock keeps seq order identical to delivery order.
            subscribers = list(self._subscribers.values())
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # outer edge: one bad subscriber must not stop the others
                    logger.exception("job %s: event subscriber %r raised", job_id, callback)
        return event
