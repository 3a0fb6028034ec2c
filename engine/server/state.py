"""Everything the route handlers share: one object built by the server, passed to routes."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from engine.context import EngineContext
from engine.graph.executor import PromptExecutor
from engine.graph.registry import NodeRegistry
from engine.server.hub import SocketHub
from engine.server.queue import PromptQueue

__all__ = ["ServerState", "bad_request", "read_json"]


@dataclass
class ServerState:
    """The engine's registry, context, queue, sockets and executor (no globals)."""

    registry: NodeRegistry
    context: EngineContext
    queue: PromptQueue
    hub: SocketHub
    executor: PromptExecutor
    max_upload_bytes: int
    _number: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_number(self) -> int:
        """ComfyUI's submission counter (`PromptServer.number`)."""
        with self._lock:
            number = self._number
            self._number += 1
            return number

    def queue_info(self) -> dict[str, Any]:
        """`{exec_info: {queue_remaining}}` as sent in `status` messages."""
        return {"exec_info": {"queue_remaining": self.queue.tasks_remaining()}}

    def features(self) -> dict[str, Any]:
        """The server's feature flags (`/features`, ws handshake)."""
        return {"supports_preview_metadata": True, "max_upload_size": self.max_upload_bytes}


def bad_request(kind: str, message: str, details: str = "") -> web.HTTPBadRequest:
    """A 400 in ComfyUI's `{"error": {...}, "node_errors": {}}` shape."""
    body = {
        "error": {"type": kind, "message": message, "details": details, "extra_info": {}},
        "node_errors": {},
    }
    return web.HTTPBadRequest(text=json.dumps(body), content_type="application/json")


async def read_json(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object body; a clear 400 when it is malformed or not an object."""
    raw = await request.text()
    if optional and not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as ex:
        raise bad_request(
            "invalid_json",
            "Request body is not valid JSON",
            f"{ex.msg} at line {ex.lineno} column {ex.colno}",
        ) from ex
    if not isinstance(data, dict):
        raise bad_request(
            "invalid_json", "Request body must be a JSON object", f"got {type(data).__name__}"
        )
    return data
