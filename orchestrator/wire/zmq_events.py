"""The PUB-side messages of the `dgxp/1.0` ZeroMQ protocol: job events and heartbeats.

Every job event carries a `seq` (+1 per event) and the job as it is after the event, so a
subscriber can detect gaps and reconcile with a `snapshot` (docs/zmq-protocol.md §8–9).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field

from orchestrator.wire.job_view import JobView
from orchestrator.wire.model import WireModel
from orchestrator.wire.train_view import TrainProgressView
from orchestrator.wire.zmq_messages import type_tags

__all__ = [
    "EVENT_TYPES",
    "JOB_EVENT_MODELS",
    "Event",
    "HeartbeatEvent",
    "JobCancelledEvent",
    "JobFailedEvent",
    "JobPreviewEvent",
    "JobProgressEvent",
    "JobQueuedEvent",
    "JobStartedEvent",
    "JobSucceededEvent",
]


class _JobEvent(WireModel):
    """Fields every job event has."""

    seq: int = Field(ge=1)
    time: float
    job_id: str
    job: JobView
    message: str | None = None


class JobQueuedEvent(_JobEvent):
    """A job entered the queue (new or retried)."""

    type: Literal["job_queued"] = "job_queued"


class JobStartedEvent(_JobEvent):
    """A backend started running the job."""

    type: Literal["job_started"] = "job_started"


class JobProgressEvent(_JobEvent):
    """Sampler progress: `value` of `max` steps. A training job's events carry its report
    in `train` (step, loss, lr, it/s, ETA, validation loss, sample); when the report names a
    sample image, its PNG is the fourth frame (`image_size` bytes)."""

    type: Literal["job_progress"] = "job_progress"
    value: int
    max: int
    train: TrainProgressView | None = None
    image_size: int | None = None


class JobPreviewEvent(_JobEvent):
    """A live preview image; the bytes are the fourth frame."""

    type: Literal["job_preview"] = "job_preview"
    image_size: int
    mime: str = "image/png"


class JobSucceededEvent(_JobEvent):
    """The job finished; `job.outputs` lists its sprites."""

    type: Literal["job_succeeded"] = "job_succeeded"


class JobFailedEvent(_JobEvent):
    """The job failed; `message` says why."""

    type: Literal["job_failed"] = "job_failed"


class JobCancelledEvent(_JobEvent):
    """The job was cancelled."""

    type: Literal["job_cancelled"] = "job_cancelled"


class HeartbeatEvent(WireModel):
    """Sent every `heartbeat_s`; `seq` is the last job event's seq (not incremented) and
    `epoch` changes whenever the daemon restarts (its seq then starts again at 1)."""

    type: Literal["heartbeat"] = "heartbeat"
    epoch: str
    seq: int = Field(ge=0)
    time: float


Event = Annotated[
    JobQueuedEvent
    | JobStartedEvent
    | JobProgressEvent
    | JobPreviewEvent
    | JobSucceededEvent
    | JobFailedEvent
    | JobCancelledEvent
    | HeartbeatEvent,
    Field(discriminator="type"),
]
EVENT_TYPES: frozenset[str] = type_tags(Event)

# The service's job event kinds (`orchestrator.service.job_events.JobEventKind` values)
# whose wire event carries no more than the common fields; progress and preview add theirs.
JOB_EVENT_MODELS: Mapping[str, type[_JobEvent]] = {
    "queued": JobQueuedEvent,
    "started": JobStartedEvent,
    "succeeded": JobSucceededEvent,
    "failed": JobFailedEvent,
    "cancelled": JobCancelledEvent,
}
