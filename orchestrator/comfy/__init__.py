"""Client for ComfyUI's HTTP/WebSocket API: real ComfyUI servers and the embedded engine.

`ComfyClient` (HTTP), `EventStream` (typed WebSocket events), `run_prompt` (submit and wait
by ComfyUI's completion rule, reconciling through `/history` after a dropped socket).

The names below load lazily, so importing one small module (`orchestrator.comfy.errors`)
does not pull in the HTTP client, pydantic event models and WebSocket code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.comfy.client import (
        ComfyClient,
    )
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
    from orchestrator.comfy.run import (
        fetch_outputs,
        run_prompt,
    )
    from orchestrator.comfy.ws import (
        EventStream,
    )

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

_HOMES = {
    "BackendProtocolError": "orchestrator.comfy.errors",
    "BackendUnreachable": "orchestrator.comfy.errors",
    "ComfyClient": "orchestrator.comfy.client",
    "ComfyError": "orchestrator.comfy.errors",
    "EventStream": "orchestrator.comfy.ws",
    "EventStreamClosed": "orchestrator.comfy.errors",
    "ExecutionFailed": "orchestrator.comfy.errors",
    "HistoryEntry": "orchestrator.comfy.models",
    "Interrupted": "orchestrator.comfy.errors",
    "OutputImage": "orchestrator.comfy.models",
    "OutputNotFound": "orchestrator.comfy.errors",
    "PromptLost": "orchestrator.comfy.errors",
    "PromptRejected": "orchestrator.comfy.errors",
    "PromptResult": "orchestrator.comfy.models",
    "QueueState": "orchestrator.comfy.models",
    "SubmitResult": "orchestrator.comfy.models",
    "SystemStats": "orchestrator.comfy.models",
    "Timeout": "orchestrator.comfy.errors",
    "UploadResult": "orchestrator.comfy.models",
    "fetch_outputs": "orchestrator.comfy.run",
    "run_prompt": "orchestrator.comfy.run",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
