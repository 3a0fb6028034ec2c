"""Client for ComfyUI's HTTP/WebSocket API: real ComfyUI servers and the embedded engine.

`ComfyClient` (HTTP), `EventStream` (typed WebSocket events), `run_prompt` (submit and wait
by ComfyUI's completion rule, reconciling through `/history` after a dropped socket).
"""

from __future__ import annotations

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.errors import (
    BackendProtocolError,
    BackendUnreachable,
    ComfyError,
    EventStreamClosed,
    ExecutionFailed,
    Interrupted,
    OutputNotFound,
    PromptLost,
    PromptRejected,
    Timeout,
)
from orchestrator.comfy.models import (
    HistoryEntry,
    OutputImage,
    PromptResult,
    QueueState,
    SubmitResult,
    SystemStats,
    UploadResult,
)
from orchestrator.comfy.run import fetch_outputs, run_prompt
from orchestrator.comfy.ws import EventStream

__all__ = [
    "BackendProtocolError",
    "BackendUnreachable",
    "ComfyClient",
    "ComfyError",
    "EventStream",
    "EventStreamClosed",
    "ExecutionFailed",
    "HistoryEntry",
    "Interrupted",
    "OutputImage",
    "OutputNotFound",
    "PromptLost",
    "PromptRejected",
    "PromptResult",
    "QueueState",
    "SubmitResult",
    "SystemStats",
    "Timeout",
    "UploadResult",
    "fetch_outputs",
    "run_prompt",
]
