"""Turn decoded ZeroMQ requests into `Service` calls, and their results or errors into replies.

The bridge's sockets live in `orchestrator.adapters.zmq.bridge`; this module is the use-case half:
one small function per request type, picked through a typed registry, plus the mapping
from the orchestrator's error tree to protocol `ErrorCode`s. It calls only the `Service`
API (typed below as `BridgeService`, which the real `orchestrator.service.Service` meets).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from orchestrator.errors import (
    BackendError,
    DGXPixelsError,
    InvalidRequest,
    JobNotFound,
    JobStateError,
    TemplateError,
)
from orchestrator.service import Job, JobState
from orchestrator.service.compare import Comparison
from orchestrator.service.gpu import GpuReading
from orchestrator.service.health import Health
from orchestrator.service.job_events import JobEvent
from orchestrator.service.remote_paths import Origin
from orchestrator.service.snapshot import DaemonSnapshot
from orchestrator.service.values import CompareVariant, GenerationRequest, LoraSpec
from orchestrator.wire.jsonable import jsonable
from orchestrator.wire.train_view import training_status_view
from orchestrator.wire.zmq_protocol import (
    MAX_PNG_BYTES,
    CancelRequest,
    CompareRequest,
    ErrorCode,
    ErrorReply,
    GetJobRequest,
    GetOutputRequest,
    JobResult,
    JobsResult,
    ListJobsRequest,
    NamesResult,
    OkReply,
    OutputResult,
    ProtocolError,
    Request,
    RetryRequest,
    SubmitRequest,
    TemplatesResult,
    TrainingStatusRequest,
    WireBackendStatus,
    WireGpu,
    WireHealth,
    WireHealthProblem,
    WireJob,
    WireLora,
    WireStatus,
    WireTemplate,
    WireTemplateParam,
)

__all__ = [
    "BridgeService",
    "HandlerOutcome",
    "error_reply_for",
    "handle_request",
    "wire_health",
    "wire_job",
    "wire_status",
]

logger = logging.getLogger(__name__)


class BridgeService(Protocol):
    """The part of `orchestrator.service.Service` the bridge uses."""

    def submit(self, request: GenerationRequest, *, origin: Origin = "local") -> list[Job]: ...
    def get_job(self, job_id: str) -> Job: ...
    def list_jobs(self, state: JobState | None = None, limit: int = 50) -> list[Job]: ...
    def cancel(self, job_id: str) -> Job: ...
    def retry(self, job_id: str) -> Job: ...
    def templates(self) -> Sequence[Any]: ...
    def template(self, name: str) -> Any: ...
    def models(self) -> Sequence[Any]: ...
    def loras(self) -> Sequence[Any]: ...
    def palettes(self) -> Sequence[Any]: ...
    def compare(
        self,
        prompt: str,
        seed: int,
        variants: Sequence[CompareVariant],
        params: Mapping[str, Any] | None = None,
        *,
        origin: Origin = "local",
    ) -> Comparison: ...
    def subscribe(self, callback: Callable[[JobEvent], None]) -> Callable[[], None]: ...
    def health(self) -> Health: ...
    def status(self) -> DaemonSnapshot: ...
    def training_status(self, job_id: str) -> Any: ...


@dataclass(frozen=True)
class HandlerOutcome:
    """A reply and, for `get_output`, the image bytes that travel as the last frame."""

    reply: OkReply | ErrorReply
    image: bytes | None = None


def wire_job(job: Job) -> WireJob:
    """The wire form of a job: every `WireJob` field is the `Job` attribute of that name
    (pydantic turns the state enum into its string and tuples into lists)."""
    return WireJob.model_validate(job, from_attributes=True)


def wire_health(health: Health) -> WireHealth:
    """The wire form of the daemon's health (ping replies carry it)."""
    problems = [
        WireHealthProblem(summary=p.summary, detail=p.detail, since=p.since)
        for p in health.problems
    ]
    return WireHealth(state=health.state.value, text=str(health), problems=problems)


def wire_status(snapshot: DaemonSnapshot) -> WireStatus:
    """The wire form of the daemon's latest figures (ping and snapshot replies carry it)."""
    disk = snapshot.disk
    return WireStatus(
        taken_at=snapshot.taken_at,
        queued=snapshot.queued,
        images_per_minute=snapshot.images_per_minute,
        backends=[
            WireBackendStatus.model_validate(b, from_attributes=True) for b in snapshot.backends
        ],
        gpus=[_wire_gpu(g) for g in snapshot.gpus],
        gpu_note=snapshot.gpu_note,
        disk_used_bytes=None if disk is None else disk.used_bytes,
        disk_total_bytes=None if disk is None else disk.total_bytes,
    )


def _wire_gpu(gpu: GpuReading) -> WireGpu:
    memory = gpu.memory
    reasons = gpu.throttle_reasons
    return WireGpu(
        index=gpu.index,
        name=gpu.name,
        utilization=gpu.utilization,
        memory_used_bytes=None if memory is None else memory.used_bytes,
        memory_total_bytes=None if memory is None else memory.total_bytes,
        memory_source=None if memory is None else memory.source,
        power_watts=gpu.power_watts,
        temperature_c=gpu.temperature_c,
        sm_clock_hz=gpu.sm_clock_hz,
        throttle_reasons=None if reasons is None else sorted(reasons),
    )


def _loras(items: Sequence[WireLora]) -> tuple[LoraSpec, ...]:
    return tuple(LoraSpec(name=x.name, strength=x.strength) for x in items)


def _name_of(item: Any) -> str:
    # models()/loras() give ModelInfo, palettes() may give names or Palette objects.
    return item if isinstance(item, str) else str(item.name)


def _template(service: BridgeService, info: Any) -> WireTemplate:
    # TemplateInfo names the parameters; the template itself knows their types and defaults.
    specs = service.template(info.name).params
    params = [
        WireTemplateParam(name=p.name, kind=str(p.type), default=jsonable(p.default)) for p in specs
    ]
    return WireTemplate(name=info.name, description=info.description or "", params=params)


def _submit(service: BridgeService, req: Request) -> OkReply:
    assert isinstance(req, SubmitRequest)
    jobs = service.submit(
        GenerationRequest(
            template=req.template,
            prompt=req.prompt,
            params=req.params,
            count=req.count,
            seed=req.seed,
            loras=_loras(req.loras),
            palette=req.palette,
            size=req.size,
            backend=req.backend,
            add_triggers=req.add_triggers,
        ),
        origin="remote",  # a socket client: palette files only from the allowed folders
    )
    return _ok(req, JobsResult(jobs=[wire_job(j) for j in jobs]))


def _job_call(service: BridgeService, req: Request) -> OkReply:
    assert isinstance(req, CancelRequest | RetryRequest | GetJobRequest)
    call = {"cancel": service.cancel, "retry": service.retry, "get_job": service.get_job}
    return _ok(req, JobResult(job=wire_job(call[req.type](req.job_id))))


def _list_jobs(service: BridgeService, req: Request) -> OkReply:
    assert isinstance(req, ListJobsRequest)
    state = JobState(req.state) if req.state else None
    return _ok(req, JobsResult(jobs=[wire_job(j) for j in service.list_jobs(state, req.limit)]))


def _list_templates(service: BridgeService, req: Request) -> OkReply:
    templates = [_template(service, t) for t in service.templates()]
    return _ok(req, TemplatesResult(templates=templates))


def _list_names(service: BridgeService, req: Request) -> OkReply:
    kind = req.type.removeprefix("list_")
    source = {"models": service.models, "loras": service.loras, "palettes": service.palettes}
    names = sorted({_name_of(x) for x in source[kind]()})
    return _ok(req, NamesResult(kind=kind, names=names))  # type: ignore[arg-type]


def _compare(service: BridgeService, req: Request) -> OkReply:
    assert isinstance(req, CompareRequest)
    variants = [  # an empty label gets the service's label rule
        CompareVariant(label=v.label or "", checkpoint=v.checkpoint, loras=_loras(v.loras))
        for v in req.variants
    ]
    comparison = service.compare(req.prompt, req.seed, variants, req.params, origin="remote")
    jobs = [wire_job(j) for j in comparison.jobs]
    return _ok(req, JobsResult(jobs=jobs, labels=comparison.labels))


_MIME_TYPES: Mapping[str, str] = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


def _output_path(job: Job, index: int, file: str) -> Path:
    """The path of one image of a job's sprite (`file` names its `SpriteFiles` field)."""
    if index >= len(job.outputs):
        raise ProtocolError(
            ErrorCode.NOT_FOUND,
            f"index={index}: job {job.id} has {len(job.outputs)} output(s) "
            f"in state {job.state!s}; wait for job_succeeded",
        )
    if file == "sprite":
        return Path(job.outputs[index])
    path = getattr(job.files[index], file, None) if index < len(job.files) else None
    if path is None:
        raise ProtocolError(
            ErrorCode.NOT_FOUND,
            f"file={file!r}: sprite {index} of job {job.id} ({job.template}) has none "
            "(animation: animation sheets; tiled_preview: tileset and autotile jobs)",
        )
    return Path(path)


def _get_output(service: BridgeService, req: Request) -> HandlerOutcome:
    assert isinstance(req, GetOutputRequest)
    job = service.get_job(req.job_id)
    path = _output_path(job, req.index, req.file)
    if not path.is_file() or path.stat().st_size > MAX_PNG_BYTES:
        raise ProtocolError(
            ErrorCode.NOT_FOUND,
            f"output {path}: missing or larger than {MAX_PNG_BYTES} bytes on the daemon",
        )
    data = path.read_bytes()
    mime = _MIME_TYPES.get(path.suffix.lower(), "application/octet-stream")
    result = OutputResult(
        job_id=job.id,
        index=req.index,
        path=str(path),
        png_size=len(data),
        file=req.file,
        mime=mime,
    )
    return HandlerOutcome(_ok(req, result), data)


def _training_status(service: BridgeService, req: Request) -> OkReply:
    assert isinstance(req, TrainingStatusRequest)
    return _ok(req, training_status_view(service.training_status(req.job_id)))


def _ok(req: Request, result: Any) -> OkReply:
    return OkReply(request_id=req.request_id, request=req.type, result=result)


_Handler = Callable[[BridgeService, Request], OkReply]
_HANDLERS: Mapping[str, _Handler] = {
    "submit": _submit,
    "cancel": _job_call,
    "retry": _job_call,
    "get_job": _job_call,
    "list_jobs": _list_jobs,
    "list_templates": _list_templates,
    "list_models": _list_names,
    "list_loras": _list_names,
    "list_palettes": _list_names,
    "compare": _compare,
    "training_status": _training_status,
}
SERVICE_REQUEST_TYPES = frozenset({*_HANDLERS, "get_output"})

_ERROR_CODES: tuple[tuple[type[BaseException], ErrorCode], ...] = (
    (JobNotFound, ErrorCode.NOT_FOUND),
    (JobStateError, ErrorCode.CONFLICT),
    (InvalidRequest, ErrorCode.INVALID_REQUEST),
    (TemplateError, ErrorCode.INVALID_REQUEST),
    (BackendError, ErrorCode.UNAVAILABLE),
    (ValueError, ErrorCode.INVALID_REQUEST),  # the pixel core's errors are ValueErrors
)


def error_reply_for(exc: BaseException, request_type: str | None, request_id: Any) -> ErrorReply:
    """The error reply for an exception a handler raised (unexpected ones are `internal`)."""
    if isinstance(exc, ProtocolError):
        code = exc.code
    else:
        code = next((c for t, c in _ERROR_CODES if isinstance(exc, t)), ErrorCode.INTERNAL)
    message = str(exc) or type(exc).__name__
    if code is ErrorCode.INTERNAL and not isinstance(exc, DGXPixelsError):
        message = f"internal error ({type(exc).__name__}: {message}); see the daemon log"
    return ErrorReply(request_id=request_id, request=request_type, code=code, message=message)


def handle_request(service: BridgeService, request: Request) -> HandlerOutcome:
    """Run one request against the service; never raises (errors become error replies)."""
    try:
        if request.type == "get_output":
            return _get_output(service, request)
        return HandlerOutcome(_HANDLERS[request.type](service, request))
    except Exception as exc:  # outer edge of the request path: reply, log, keep serving
        reply = error_reply_for(exc, request.type, request.request_id)
        if reply.code is ErrorCode.INTERNAL:
            logger.exception("zmq %s request failed", request.type)
        else:
            logger.info("zmq %s request refused: %s", request.type, reply.message)
        return HandlerOutcome(reply)
