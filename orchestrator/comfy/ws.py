"""ComfyUI's `/ws?clientId=...` event stream as typed events.

Execution events only reach the socket whose id equals the prompt's `client_id`, so connect
first and submit with the same id. Reconnecting with the same id replaces the old socket on
the server; events sent while no socket was open are lost, which is why `run.py` reconciles
through `/history` after a reconnect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote

import websocket

from orchestrator.comfy.errors import BackendProtocolError, BackendUnreachable, EventStreamClosed
from orchestrator.comfy.events import ComfyEvent, parse_binary_frame, parse_text_frame

__all__ = ["EventStream", "ws_url"]

logger = logging.getLogger(__name__)

_TEXT = websocket.ABNF.OPCODE_TEXT
_BINARY = websocket.ABNF.OPCODE_BINARY
_CLOSE = websocket.ABNF.OPCODE_CLOSE


def _shutdown(ws: websocket.WebSocket) -> None:
    # websocket-client leaves `shutdown` unannotated; it closes the raw socket at once.
    cast(Any, ws).shutdown()


def ws_url(base_url: str, client_id: str) -> str:
    """`http://h:p` → `ws://h:p/ws?clientId=<id>` (https → wss)."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    else:
        raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
    return f"{base}/ws?clientId={quote(client_id)}"


class EventStream:
    """One WebSocket to a backend, yielding typed events.

    Args:
        base_url: the backend's HTTP base URL.
        client_id: the id to connect with; submit prompts with the same id.
        receive_timeout: seconds `receive()` (and iteration) waits for the next frame.
        connect_timeout: seconds to open the socket.
        preview_metadata: ask for previews with metadata (binary event 4).
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        *,
        receive_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        preview_metadata: bool = True,
    ) -> None:
        self.url = ws_url(base_url, client_id)
        self.client_id = client_id
        self.receive_timeout = receive_timeout
        self.connect_timeout = connect_timeout
        self.preview_metadata = preview_metadata
        self._ws: websocket.WebSocket | None = None

    def __repr__(self) -> str:
        return f"EventStream({self.url!r}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        return self._ws is not None and bool(self._ws.connected)

    def connect(self) -> EventStream:
        """Open the socket and send the feature-flags handshake (first text message).

        Raises:
            BackendUnreachable: the socket could not be opened.
        """
        self.close()
        ws: websocket.WebSocket | None = None
        try:
            ws = websocket.create_connection(self.url, timeout=self.connect_timeout)
            flags = {"supports_preview_metadata": self.preview_metadata}
            ws.send(json.dumps({"type": "feature_flags", "data": flags}))
        except (OSError, websocket.WebSocketException) as exc:
            if ws is not None:
                _shutdown(ws)
            raise BackendUnreachable(
                f"cannot open the event stream {self.url}: {exc}; is the backend running?",
                self.url,
            ) from exc
        self._ws = ws
        logger.debug("event stream open: %s", self.url)
        return self

    def reconnect(self) -> EventStream:
        """Re-open with the same client id (the server replaces the old socket)."""
        return self.connect()

    def close(self) -> None:
        """Close the socket; `receive` then raises `EventStreamClosed` until reconnected."""
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close(timeout=1)
            _shutdown(ws)  # close() returns early on a socket that already failed

    def _drop(self, ws: websocket.WebSocket) -> None:
        self._ws = None
        _shutdown(ws)

    def __enter__(self) -> EventStream:
        return self.connect() if not self.connected else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def receive(self, timeout: float | None = None) -> ComfyEvent | None:
        """The next event, or None if none arrived within `timeout` (default: receive_timeout).

        Raises:
            EventStreamClosed: the socket is closed (by either side); call `reconnect()`.
            BackendProtocolError: the backend sent a frame that breaks the protocol.
        """
        ws = self._ws
        if ws is None or not ws.connected:
            raise EventStreamClosed(f"event stream {self.url} is closed", self.url)
        ws.settimeout(self.receive_timeout if timeout is None else max(timeout, 0.001))
        try:
            opcode, data = ws.recv_data()
        except websocket.WebSocketTimeoutException:
            return None
        except (OSError, websocket.WebSocketException) as exc:
            self._drop(ws)
            raise EventStreamClosed(f"event stream {self.url} dropped: {exc}", self.url) from exc
        if opcode == _TEXT:
            return parse_text_frame(data, self.url)
        if opcode == _BINARY:
            return parse_binary_frame(data, self.url)
        if opcode == _CLOSE:
            self._drop(ws)
            raise EventStreamClosed(f"event stream {self.url} closed by the backend", self.url)
        raise BackendProtocolError(f"{self.url} sent an unexpected frame opcode {opcode}", self.url)

    def __iter__(self) -> Iterator[ComfyEvent]:
        """Events until `receive_timeout` passes without one (then iteration ends)."""
        while True:
            event = self.receive()
            if event is None:
                return
            yield event
