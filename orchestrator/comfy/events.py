"""Typed WebSocket messages of ComfyUI's `/ws` (and the engine's, which speaks the same).

Text frames are `{"type": T, "data": {...}}`; each known `T` becomes a frozen pydantic model
whose fields are `data`'s keys plus the `type` tag. Types this client does not know (custom
`send_sync` events, newer ComfyUI messages) become `UnknownEvent` instead of crashing.
Binary frames start with a 4-byte big-endian event number: 1 = preview image
(`[type:4][bytes]`, 1 = JPEG, 2 = PNG), 4 = preview with metadata
(`[len:4][json][bytes]`), 3 = progress text (`[len:4][node id][utf-8]`).
"""

from __future__ import annotations

import json
import struct
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator.comfy.errors import BackendProtocolError

__all__ = [
    "ComfyEvent",
    "EventBase",
    "ExecutedEvent",
    "ExecutingEvent",
    "ExecutionCachedEvent",
    "ExecutionErrorEvent",
    "ExecutionInterruptedEvent",
    "ExecutionStartEvent",
    "ExecutionSuccessEvent",
    "FeatureFlagsEvent",
    "NodeProgress",
    "PreviewFrame",
    "ProgressEvent",
    "ProgressStateEvent",
    "ProgressTextFrame",
    "StatusEvent",
    "UnknownEvent",
    "parse_binary_frame",
    "parse_text_frame",
]

_IMAGE_TYPES = {1: "image/jpeg", 2: "image/png"}


class EventBase(BaseModel):
    """Common shape: frozen, unknown keys ignored (newer ComfyUI adds fields)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    prompt_id: str | None = None


class StatusEvent(EventBase):
    """Queue status; the first one after connecting carries our `sid`."""

    type: Literal["status"] = "status"
    status: dict[str, Any] = Field(default_factory=dict)
    sid: str | None = None

    @property
    def queue_remaining(self) -> int | None:
        """Prompts left in the backend's queue, if reported."""
        exec_info = self.status.get("exec_info")
        if isinstance(exec_info, dict) and isinstance(exec_info.get("queue_remaining"), int):
            return int(exec_info["queue_remaining"])
        return None


class ExecutionStartEvent(EventBase):
    type: Literal["execution_start"] = "execution_start"
    timestamp: float | None = None


class ExecutionCachedEvent(EventBase):
    type: Literal["execution_cached"] = "execution_cached"
    nodes: list[str] = Field(default_factory=list)
    timestamp: float | None = None


class ExecutingEvent(EventBase):
    """A node starts; `node is None` for our prompt means done and history is written."""

    type: Literal["executing"] = "executing"
    node: str | None = None
    display_node: str | None = None


class ProgressEvent(EventBase):
    type: Literal["progress"] = "progress"
    value: int
    max: int
    node: str | None = None


class NodeProgress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    value: float = 0
    max: float = 1
    state: str = "running"
    node_id: str | None = None
    display_node_id: str | None = None


class ProgressStateEvent(EventBase):
    type: Literal["progress_state"] = "progress_state"
    nodes: dict[str, NodeProgress] = Field(default_factory=dict)


class ExecutedEvent(EventBase):
    """A node with a `ui` result finished; `output` is what lands in history."""

    type: Literal["executed"] = "executed"
    node: str
    display_node: str | None = None
    output: dict[str, Any] = Field(default_factory=dict)

    @field_validator("output", mode="before")
    @classmethod
    def _null_output_is_empty(cls, value: Any) -> Any:
        # Real ComfyUI re-sends `executed` for a cached output node with `output: null`
        # when that node returned no `ui` (DGXP_SpriteReport did, before its ui text); 0.3.64.
        return {} if value is None else value


class ExecutionSuccessEvent(EventBase):
    """All nodes ran. History is NOT written yet: wait for `executing` with `node=None`."""

    type: Literal["execution_success"] = "execution_success"
    timestamp: float | None = None


class ExecutionErrorEvent(EventBase):
    type: Literal["execution_error"] = "execution_error"
    node_id: str | None = None
    node_type: str | None = None
    executed: list[str] = Field(default_factory=list)
    exception_message: str = ""
    exception_type: str = ""
    traceback: list[str] = Field(default_factory=list)
    current_inputs: dict[str, Any] = Field(default_factory=dict)
    current_outputs: list[str] = Field(default_factory=list)
    timestamp: float | None = None


class ExecutionInterruptedEvent(EventBase):
    type: Literal["execution_interrupted"] = "execution_interrupted"
    node_id: str | None = None
    node_type: str | None = None
    executed: list[str] = Field(default_factory=list)
    timestamp: float | None = None


class FeatureFlagsEvent(EventBase):
    """The server's reply to our feature-flags handshake."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: Literal["feature_flags"] = "feature_flags"
    supports_preview_metadata: bool = False
    max_upload_size: int | None = None


class UnknownEvent(EventBase):
    """A message this client does not model (custom node events, newer ComfyUI)."""

    type: str
    data: Any = None


class PreviewFrame(EventBase):
    """A binary preview image (event 1, or event 4 with metadata)."""

    type: Literal["preview"] = "preview"
    event: int
    image_type: str
    image: bytes
    node_id: str | None = None
    display_node_id: str | None = None


class ProgressTextFrame(EventBase):
    """Binary event 3: free text a node reports while it runs."""

    type: Literal["progress_text"] = "progress_text"
    node_id: str
    text: str


ComfyEvent = (
    StatusEvent
    | ExecutionStartEvent
    | ExecutionCachedEvent
    | ExecutingEvent
    | ProgressEvent
    | ProgressStateEvent
    | ExecutedEvent
    | ExecutionSuccessEvent
    | ExecutionErrorEvent
    | ExecutionInterruptedEvent
    | FeatureFlagsEvent
    | PreviewFrame
    | ProgressTextFrame
    | UnknownEvent
)

_TEXT_EVENTS: dict[str, type[EventBase]] = {
    "status": StatusEvent,
    "execution_start": ExecutionStartEvent,
    "execution_cached": ExecutionCachedEvent,
    "executing": ExecutingEvent,
    "progress": ProgressEvent,
    "progress_state": ProgressStateEvent,
    "executed": ExecutedEvent,
    "execution_success": ExecutionSuccessEvent,
    "execution_error": ExecutionErrorEvent,
    "execution_interrupted": ExecutionInterruptedEvent,
    "feature_flags": FeatureFlagsEvent,
}


def parse_text_frame(text: str | bytes, url: str) -> ComfyEvent:
    """Parse one text frame; unknown types become `UnknownEvent`.

    Raises:
        BackendProtocolError: the frame is not JSON, has no string `type`, or a known type
            has fields of the wrong shape.
    """
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise BackendProtocolError(
            f"{url} sent a non-JSON text frame: {text[:120]!r}", url
        ) from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise BackendProtocolError(f"{url} sent a frame without a string 'type': {message!r}", url)
    kind: str = message["type"]
    data = message.get("data")
    model = _TEXT_EVENTS.get(kind)
    if model is None:
        return UnknownEvent(type=kind, data=data)
    if not isinstance(data, dict):
        raise BackendProtocolError(
            f"{url} sent {kind!r} whose data is not an object: {data!r}", url
        )
    try:
        event = model.model_validate({**data, "type": kind})
    except ValidationError as exc:
        raise BackendProtocolError(f"{url} sent a malformed {kind!r} event: {exc}", url) from exc
    return event  # type: ignore[return-value]  # every registered model is in ComfyEvent


def _preview_with_metadata(payload: bytes, url: str) -> PreviewFrame:
    if len(payload) < 4:
        raise BackendProtocolError(f"{url} sent a truncated preview-with-metadata frame", url)
    (meta_len,) = struct.unpack(">I", payload[:4])
    if len(payload) < 4 + meta_len:
        raise BackendProtocolError(
            f"{url} sent a preview whose metadata length {meta_len} exceeds the frame", url
        )
    try:
        meta = json.loads(payload[4 : 4 + meta_len])
    except ValueError as exc:
        raise BackendProtocolError(f"{url} sent preview metadata that is not JSON", url) from exc
    if not isinstance(meta, dict):
        raise BackendProtocolError(f"{url} sent preview metadata that is not an object", url)
    return PreviewFrame(
        event=4,
        image_type=str(meta.get("image_type", "image/jpeg")),
        image=payload[4 + meta_len :],
        prompt_id=meta.get("prompt_id"),
        node_id=meta.get("node_id"),
        display_node_id=meta.get("display_node_id"),
    )


def _progress_text(payload: bytes, url: str) -> ProgressTextFrame:
    if len(payload) < 4:
        raise BackendProtocolError(f"{url} sent a truncated progress-text frame", url)
    (id_len,) = struct.unpack(">I", payload[:4])
    node_id = payload[4 : 4 + id_len].decode("utf-8", errors="replace")
    text = payload[4 + id_len :].decode("utf-8", errors="replace")
    return ProgressTextFrame(node_id=node_id, text=text)


def parse_binary_frame(frame: bytes, url: str) -> ComfyEvent:
    """Parse one binary frame (previews and progress text); unknown events are kept.

    Raises:
        BackendProtocolError: the frame is shorter than its header says.
    """
    if len(frame) < 4:
        raise BackendProtocolError(f"{url} sent a binary frame of {len(frame)} bytes", url)
    (event,) = struct.unpack(">I", frame[:4])
    payload = frame[4:]
    if event == 1:
        if len(payload) < 4:
            raise BackendProtocolError(f"{url} sent a truncated preview frame", url)
        (image_kind,) = struct.unpack(">I", payload[:4])
        return PreviewFrame(
            event=1, image_type=_IMAGE_TYPES.get(image_kind, "image/jpeg"), image=payload[4:]
        )
    if event == 4:
        return _preview_with_metadata(payload, url)
    if event == 3:
        return _progress_text(payload, url)
    return UnknownEvent(type=f"binary:{event}", data={"event": event, "size": len(payload)})
