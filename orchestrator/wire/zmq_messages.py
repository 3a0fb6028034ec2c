"""The messages of the `dgxp/1.0` ZeroMQ protocol: pydantic models with a `type` tag.

Requests, the results inside `ok` replies, `error` replies and PUB events, plus the
protocol's constants and error codes. Frames and msgpack encoding live in
`orchestrator.wire.zmq_protocol`; `docs/zmq-protocol.md` is the normative description.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from orchestrator.bounds import MAX_SEED
from orchestrator.jobs.states import JobState
from orchestrator.wire.job_view import ImageFile, JobView
from orchestrator.wire.model import WireModel
from orchestrator.wire.train_view import TrainingStatusView

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_PNG_BYTES",
    "MAX_TYPE_BYTES",
    "PROTOCOL_FRAME",
    "PROTOCOL_MAJOR",
    "PROTOCOL_MINOR",
    "PROTOCOL_NAME",
    "REQUEST_TYPES",
    "CancelRequest",
    "CompareRequest",
    "ErrorCode",
    "ErrorReply",
    "GetJobRequest",
    "GetOutputRequest",
    "JobId",
    "JobResult",
    "JobView",
    "JobsResult",
    "ListJobsRequest",
    "ListLorasRequest",
    "ListModelsRequest",
    "ListPalettesRequest",
    "ListTemplatesRequest",
    "NamesResult",
    "OkReply",
    "OutputResult",
    "PingRequest",
    "PongResult",
    "Reply",
    "Request",
    "RequestId",
    "Result",
    "RetryRequest",
    "SnapshotRequest",
    "SnapshotResult",
    "SubmitRequest",
    "TemplatesResult",
    "TrainingStatusRequest",
    "TrainingStatusView",
    "WireBackendStatus",
    "WireCompareVariant",
    "WireGpu",
    "WireHealth",
    "WireHealthProblem",
    "WireJob",
    "WireLora",
    "WireModel",
    "WireStatus",
    "WireTemplate",
    "WireTemplateParam",
    "type_tags",
]

PROTOCOL_NAME = "dgxp"
PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 0
PROTOCOL_FRAME = f"{PROTOCOL_NAME}/{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}".encode("ascii")
MAX_BODY_BYTES = 1 << 20  # a request body never needs more; bigger is a bug or an attack
MAX_PNG_BYTES = 16 << 20
MAX_TYPE_BYTES = 64


class ErrorCode(StrEnum):
    """Why a request failed; the `code` field of an `error` reply."""

    BAD_FRAMES = "bad_frames"  # wrong number of frames or an empty/binary type frame
    BAD_PROTOCOL = "bad_protocol"  # first frame is not `dgxp/<major>.<minor>`
    UNSUPPORTED_VERSION = "unsupported_version"  # a major version this server does not speak
    UNKNOWN_TYPE = "unknown_type"  # request type frame names no request
    BODY_TOO_LARGE = "body_too_large"  # body frame over MAX_BODY_BYTES
    BAD_BODY = "bad_body"  # not msgpack, not a map, or `type` disagrees with the type frame
    INVALID_REQUEST = "invalid_request"  # a field is missing or has a bad value
    NOT_FOUND = "not_found"  # no job with that id, or the job has no such output
    CONFLICT = "conflict"  # the job's state does not allow it (cancel a finished job)
    UNAVAILABLE = "unavailable"  # no healthy backend right now; retry later
    INTERNAL = "internal"  # a bug on the server; the message says what was logged


def type_tags(union: Any) -> frozenset[str]:
    """The `type` tags of a discriminated union's models (`Annotated[A | B, Field(...)]`), so
    the set of valid type frames is read from the union and never kept by hand."""
    members = get_args(get_args(union)[0])
    return frozenset(str(model.model_fields["type"].default) for model in members)


class WireLora(WireModel):
    """A LoRA applied at a strength."""

    name: str = Field(min_length=1, max_length=512)
    strength: float = Field(default=1.0, ge=-10.0, le=10.0)


# The one job view (orchestrator.wire.job_view), under the name this protocol's clients use.
WireJob = JobView


class WireTemplateParam(WireModel):
    """One parameter a template accepts."""

    name: str
    kind: str = "any"
    default: Any = None


class WireTemplate(WireModel):
    """A workflow template the daemon can run."""

    name: str
    description: str = ""
    params: list[WireTemplateParam] = Field(default_factory=list)


class WireCompareVariant(WireModel):
    """One column of a comparison: a checkpoint and/or a LoRA set."""

    label: str | None = Field(default=None, max_length=200)
    checkpoint: str | None = Field(default=None, max_length=512)
    loras: list[WireLora] = Field(default_factory=list, max_length=8)


# --- requests -------------------------------------------------------------------------------

RequestId = int | str | None
JobId = Annotated[str, Field(min_length=1, max_length=128)]


class _Request(WireModel):
    """Fields every request has: `request_id` is echoed in the reply."""

    request_id: RequestId = None


class PingRequest(_Request):
    """Is the daemon there? Answers `pong` with the current epoch and seq."""

    type: Literal["ping"] = "ping"


class SubmitRequest(_Request):
    """Queue `count` jobs of one template (seeds `seed`, `seed+1`, …)."""

    type: Literal["submit"] = "submit"
    template: str = Field(default="single_sprite", min_length=1, max_length=128)
    prompt: str = Field(min_length=1, max_length=4000)
    params: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(default=1, ge=1, le=64)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    loras: list[WireLora] = Field(default_factory=list, max_length=8)
    palette: str | None = Field(default=None, max_length=512)
    size: tuple[int, int] | None = None
    backend: str | None = Field(default=None, max_length=512)
    add_triggers: bool = True  # put each LoRA's trigger words before the prompt (--no-trigger)


class CancelRequest(_Request):
    """Cancel a queued or running job."""

    type: Literal["cancel"] = "cancel"
    job_id: JobId


class RetryRequest(_Request):
    """Queue a failed or cancelled job again."""

    type: Literal["retry"] = "retry"
    job_id: JobId


class GetJobRequest(_Request):
    """One job by id."""

    type: Literal["get_job"] = "get_job"
    job_id: JobId


class ListJobsRequest(_Request):
    """Jobs newest first, optionally in one state."""

    type: Literal["list_jobs"] = "list_jobs"
    state: JobState | None = None
    limit: int = Field(default=50, ge=1, le=1000)


class ListTemplatesRequest(_Request):
    """The workflow templates and their parameters."""

    type: Literal["list_templates"] = "list_templates"


class ListModelsRequest(_Request):
    """Checkpoint file names the backends can load."""

    type: Literal["list_models"] = "list_models"


class ListLorasRequest(_Request):
    """LoRA file names the backends can load."""

    type: Literal["list_loras"] = "list_loras"


class ListPalettesRequest(_Request):
    """Built-in palette names."""

    type: Literal["list_palettes"] = "list_palettes"


class SnapshotRequest(_Request):
    """Every tracked job and the seq they are current at (for late subscribers)."""

    type: Literal["snapshot"] = "snapshot"


class CompareRequest(_Request):
    """One prompt, seed and template parameters across 2–4 checkpoint / LoRA variants."""

    type: Literal["compare"] = "compare"
    prompt: str = Field(min_length=1, max_length=4000)
    seed: int = Field(ge=0, le=MAX_SEED)
    variants: list[WireCompareVariant] = Field(min_length=2, max_length=4)
    params: dict[str, Any] = Field(default_factory=dict)


class TrainingStatusRequest(_Request):
    """A training job with its loss curves, latest report, samples and result."""

    type: Literal["training_status"] = "training_status"
    job_id: JobId


class GetOutputRequest(_Request):
    """A finished job's sprite PNG, sent as the reply's fourth frame."""

    type: Literal["get_output"] = "get_output"
    job_id: JobId
    index: int = Field(default=0, ge=0, le=1023)
    file: ImageFile = "sprite"  # which image of that sprite (its `SpriteFiles` field)


Request = Annotated[
    PingRequest
    | SubmitRequest
    | CancelRequest
    | RetryRequest
    | GetJobRequest
    | ListJobsRequest
    | ListTemplatesRequest
    | ListModelsRequest
    | ListLorasRequest
    | ListPalettesRequest
    | SnapshotRequest
    | CompareRequest
    | GetOutputRequest
    | TrainingStatusRequest,
    Field(discriminator="type"),
]
REQUEST_TYPES: frozenset[str] = type_tags(Request)

# --- replies --------------------------------------------------------------------------------


class WireHealthProblem(WireModel):
    """One reason the daemon is degraded (`orchestrator.service.health.Problem`)."""

    summary: str  # "job store locked"
    detail: str  # the underlying error: "database is locked"
    since: float  # epoch seconds when it was first seen


class WireHealth(WireModel):
    """The daemon's own health (`Service.health()`); `text` is its one-line form."""

    state: Literal["ok", "degraded"]  # = orchestrator.service.health.HealthState (tested)
    text: str  # "ok" | "degraded: job store locked since 02:31:07 UTC (database is locked)"
    problems: list[WireHealthProblem] = Field(default_factory=list)


class WireBackendStatus(WireModel):
    """One backend as the daemon's pool last saw it (no probe is made for a reply)."""

    url: str
    kind: str  # "engine" | "comfyui"
    healthy: bool
    in_flight: int  # jobs this daemon has sent to it
    queue_remaining: int  # its own queue, at its last health check
    last_error: str | None = None
    group: str | None = None  # the engine group (engine://NAME) that lists it
    last_model: str | None = None  # checkpoint + LoRA files of the last job sent ("|"-joined)
    done: int = 0  # jobs this daemon ran there to the end
    failed: int = 0  # jobs that failed there or were lost with it
    mean_job_s: float | None = None  # mean seconds from send to done of those jobs


class WireGpu(WireModel):
    """One GPU at the daemon's last sample; a figure NVML cannot give is nil."""

    index: int
    name: str
    utilization: float | None = None  # 0..1
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    memory_source: str | None = None  # "nvml" | "torch" | "meminfo" (unified memory)
    power_watts: float | None = None
    temperature_c: float | None = None
    sm_clock_hz: float | None = None
    throttle_reasons: list[str] | None = None


class WireStatus(WireModel):
    """The daemon's figures at `taken_at` (sampled every few seconds, off the job path)."""

    taken_at: float
    queued: int
    images_per_minute: float  # over the last 5 minutes
    backends: list[WireBackendStatus] = Field(default_factory=list)
    gpus: list[WireGpu] = Field(default_factory=list)
    gpu_note: str | None = None  # why `gpus` is empty, when it is
    disk_used_bytes: int | None = None  # the data dir's disk
    disk_total_bytes: int | None = None


class PongResult(WireModel):
    """Result of `ping`; `health` and `status` are nil from a daemon that does not report
    them."""

    type: Literal["pong"] = "pong"
    protocol: str = PROTOCOL_FRAME.decode("ascii")
    epoch: str
    seq: int
    server_time: float
    health: WireHealth | None = None
    status: WireStatus | None = None


class JobResult(WireModel):
    """Result of `cancel`, `retry`, `get_job`."""

    type: Literal["job"] = "job"
    job: JobView


class JobsResult(WireModel):
    """Result of `submit`, `list_jobs`, `compare`."""

    type: Literal["jobs"] = "jobs"
    jobs: list[JobView]
    # compare: each job's label, in order (the service's label rule); empty otherwise
    labels: list[str] = Field(default_factory=list)


class TemplatesResult(WireModel):
    """Result of `list_templates`."""

    type: Literal["templates"] = "templates"
    templates: list[WireTemplate]


class NamesResult(WireModel):
    """Result of `list_models`, `list_loras`, `list_palettes`."""

    type: Literal["names"] = "names"
    kind: Literal["models", "loras", "palettes"]
    names: list[str]


class SnapshotResult(WireModel):
    """Result of `snapshot`: the jobs are the state after event `seq`; `health` as in
    `ping` (a client that shows a status line gets both in one request)."""

    type: Literal["snapshot"] = "snapshot"
    epoch: str
    seq: int
    server_time: float
    health: WireHealth | None = None
    status: WireStatus | None = None
    jobs: list[JobView]


class OutputResult(WireModel):
    """Result of `get_output` (the image is the next frame; `mime` says its format)."""

    type: Literal["output"] = "output"
    job_id: str
    index: int
    path: str
    png_size: int  # the image frame's size in bytes, whatever its format
    file: ImageFile = "sprite"  # a daemon from before `file` sends only sprites
    mime: str = "image/png"


Result = Annotated[
    PongResult
    | JobResult
    | JobsResult
    | TemplatesResult
    | NamesResult
    | SnapshotResult
    | OutputResult
    | TrainingStatusView,
    Field(discriminator="type"),
]


class OkReply(WireModel):
    """A request succeeded; `result` is typed by its own `type`."""

    type: Literal["ok"] = "ok"
    request_id: RequestId = None
    request: str
    result: Result


class ErrorReply(WireModel):
    """A request failed; `code` says why, `message` says what to do."""

    type: Literal["error"] = "error"
    request_id: RequestId = None
    request: str | None = None
    code: ErrorCode
    message: str
    supported: list[str] = Field(default_factory=list)


Reply = Annotated[OkReply | ErrorReply, Field(discriminator="type")]
