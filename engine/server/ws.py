"""`/ws?clientId=`: ComfyUI's websocket endpoint (status on connect, feature-flag handshake)."""

from __future__ import annotations

import logging
import uuid

import aiohttp
from aiohttp import web

from engine.server.body import JsonBodyError, parse_json
from engine.server.hub import _Client
from engine.server.state import ServerState

__all__ = ["ws_routes"]

logger = logging.getLogger(__name__)


def _handle_text(state: ServerState, sid: str, raw: str, first: bool) -> bool:
    """Record the client's feature flags if its first message carries them."""
    try:
        data = parse_json(raw)
    except JsonBodyError as ex:
        logger.warning("Invalid JSON received from client %s: %s", sid, ex)
        return False
    if first and isinstance(data, dict) and data.get("type") == "feature_flags":
        client = state.hub.clients.get(sid)
        flags = data.get("data", {})
        if client is not None and isinstance(flags, dict):
            client.feature_flags = flags
        return True
    return False


def ws_routes(state: ServerState) -> list[web.RouteDef]:
    """The `/ws` route bound to `state`."""

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        """GET /ws?clientId=: status on connect, then events until the client leaves."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        sid = request.rel_url.query.get("clientId", "") or uuid.uuid4().hex
        state.hub.clients[sid] = _Client(socket=socket)  # a reused id replaces the old socket
        try:
            await state.hub.send_now("status", {"status": state.queue_info(), "sid": sid}, sid)
            # A client reconnecting while its prompt runs is told the current node.
            current = state.executor.current_node
            running, _ = state.queue.current()
            if current is not None and any(item[3].get("client_id") == sid for item in running):
                await state.hub.send_now("executing", {"node": current}, sid)
            first = True
            async for message in socket:
                if message.type == aiohttp.WSMsgType.TEXT:
                    if _handle_text(state, sid, message.data, first):
                        await state.hub.send_now("feature_flags", state.features(), sid)
                    first = False
                elif message.type == aiohttp.WSMsgType.ERROR:
                    logger.warning("ws connection closed with exception %s", socket.exception())
        finally:
            if state.hub.clients.get(sid) is not None and state.hub.clients[sid].socket is socket:
                del state.hub.clients[sid]
        return socket

    return [web.get("/ws", websocket)]
