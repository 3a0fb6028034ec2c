"""Where the executor sends ComfyUI's websocket events (the server's socket hub in practice)."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["EventSink", "NullSink"]


class EventSink(Protocol):
    """Thread-safe event delivery. `sid=None` broadcasts to every connected socket."""

    def send(self, event: str, data: dict[str, Any], sid: str | None) -> None:
        """Send a `{"type": event, "data": data}` text message."""

    def send_preview(
        self, image: bytes, image_type: str, metadata: dict[str, Any], sid: str | None
    ) -> None:
        """Send a binary preview frame (event 4 or 1, depending on the client flags)."""


class NullSink:
    """Discards every event (in-process execution without a server)."""

    def send(self, event: str, data: dict[str, Any], sid: str | None) -> None:
        """Discard the message."""
        return None

    def send_preview(
        self, image: bytes, image_type: str, metadata: dict[str, Any], sid: str | None
    ) -> None:
        """Discard the frame."""
        return None
