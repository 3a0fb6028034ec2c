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
from engine.server.timings import PromptTimings

__all__ = ["ServerState", "bad_request", "client_error"]


@dataclass
class ServerState:
    """The engine's registry, context, queue, sockets and executor (no globals)."""

    registry: NodeRegistry
    context: EngineContext
    queue: PromptQueue
    hub: SocketHub
    executor: PromptExecutor
    max_upload_bytes: int
    timings: PromptTimings = field(default_factory=PromptTimings)
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


_STATUS: dict[int, type[web.HTTPClientError]] = {
    400: web.HTTPBadRequest,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
}


def client_error(
    status: int, kind: str, message: str, details: str = "", input_name: str | None = None
) -> web.HTTPClientError:
    """A 400/403/404 in ComfyUI's `{"error": {...}, "node_errors": {}}` shape.

    Args:
        status: 400, 403 or 404.
        kind: `error.type`, e.g. `invalid_json`.
        message: what is wrong.
        details: the offending value and what to do instead.
        input_name: the request field at fault, put into `extra_info`.
    """
    extra = {} if input_name is None else {"input_name": input_name}
    body = {
        "error": {"type": kind, "message": message, "details": details, "extra_info": extra},
        "node_errors": {},
    }
    return _STATUS[status](text=json.dumps(body), content_type="application/json")


def bad_request(
    kind: str, message: str, details: str = "", input_name: str | None = None
) -> web.HTTPBadRequest:
    """A 400 in ComfyUI's error shape (see `client_error`)."""
    error = client_error(400, kind, message, details, input_name)
    assert isinstance(error, web.HTTPBadRequest)
    return error
