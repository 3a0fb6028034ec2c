"""The engine's ComfyUI-compatible HTTP/WebSocket server."""

from __future__ import annotations

from engine.server.app import EngineServer

__all__ = ["EngineServer"]
