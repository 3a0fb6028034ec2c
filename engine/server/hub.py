"""The websocket hub: connected sockets and ordered, thread-safe event delivery.

The worker thread calls `send`/`send_preview`; messages go through one asyncio queue and
one publisher task on the server loop, so each socket sees events in the order they were
produced (ComfyUI's `send_sync` + `publish_loop`).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from engine.server.jsonio import to_json

__all__ = ["PREVIEW_IMAGE", "PREVIEW_IMAGE_WITH_METADATA", "SocketHub"]

logger = logging.getLogger(__name__)

PREVIEW_IMAGE = 1
PREVIEW_IMAGE_WITH_METADATA = 4
_IMAGE_TYPE_CODES = {"image/jpeg": 1, "image/png": 2}


@dataclass
class _Client:
    socket: web.WebSocketResponse
    feature_flags: dict[str, Any] = field(default_factory=dict)


def preview_frame(
    image: bytes, image_type: str, metadata: dict[str, Any], with_metadata: bool
) -> bytes:
    """Binary frame: event 4 (metadata JSON + image) or event 1 (image type code + image)."""
    if with_metadata:
        meta = to_json(metadata).encode()
        return struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(meta)) + meta + image
    return struct.pack(">II", PREVIEW_IMAGE, _IMAGE_TYPE_CODES.get(image_type, 2)) + image


class SocketHub:
    """Sockets by client id; implements `engine.graph.EventSink`."""

    def __init__(self) -> None:
        self.clients: dict[str, _Client] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._messages: asyncio.Queue[tuple[str, Any, str | None]] | None = None
        self._publisher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Bind to the running loop and start the publisher task."""
        self._loop = asyncio.get_running_loop()
        self._messages = asyncio.Queue()
        self._publisher = asyncio.create_task(self._publish_loop())

    async def stop(self) -> None:
        """Stop publishing and close every socket."""
        if self._publisher is not None:
            self._publisher.cancel()
        for client in list(self.clients.values()):
            await client.socket.close()
        self.clients.clear()

    # -- EventSink ---------------------------------------------------------------------------
    def send(self, event: str, data: dict[str, Any], sid: str | None) -> None:
        """Queue a text message for `sid` (every socket when None)."""
        self._post(("json", {"type": event, "data": data}, sid))

    def send_preview(
        self, image: bytes, image_type: str, metadata: dict[str, Any], sid: str | None
    ) -> None:
        """Queue a binary preview frame for `sid` (every socket when None)."""
        self._post(("preview", (image, image_type, metadata), sid))

    def _post(self, message: tuple[str, Any, str | None]) -> None:
        if self._loop is None or self._messages is None or self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._messages.put_nowait, message)

    # -- delivery ------------------------------------------------------------------------------
    async def _publish_loop(self) -> None:
        assert self._messages is not None
        while True:
            kind, payload, sid = await self._messages.get()
            targets = list(self.clients.items()) if sid is None else [(sid, self.clients.get(sid))]
            for target_sid, client in targets:
                if client is None:
                    continue
                try:
                    await self._deliver(client, kind, payload)
                except (ConnectionError, RuntimeError) as ex:  # the client went away mid-send
                    logger.debug("dropping message for client %s: %s", target_sid, ex)
                except Exception:  # outer edge of the publisher loop: log, keep publishing
                    logger.exception(
                        "could not deliver a %s message to client %s", kind, target_sid
                    )

    async def _deliver(self, client: _Client, kind: str, payload: Any) -> None:
        if client.socket.closed:
            return
        if kind == "json":
            await client.socket.send_str(to_json(payload))
            return
        image, image_type, metadata = payload
        with_meta = bool(client.feature_flags.get("supports_preview_metadata"))
        await client.socket.send_bytes(preview_frame(image, image_type, metadata, with_meta))

    async def send_now(self, event: str, data: dict[str, Any], sid: str) -> None:
        """Send directly from a handler on the loop (connect-time status, flag replies)."""
        client = self.clients.get(sid)
        if client is not None and not client.socket.closed:
            await client.socket.send_str(to_json({"type": event, "data": data}))
