"""Small HTTP + WebSocket helpers the engine tests share (real sockets, no mocks)."""

from __future__ import annotations

import json
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
import websocket

TIMEOUT_S = 60.0


@dataclass
class WsClient:
    """A `/ws` connection that records every text event and binary frame it receives."""

    base_url: str
    client_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    flags: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        url = self.base_url.replace("http://", "ws://") + f"/ws?clientId={self.client_id}"
        self.socket = websocket.create_connection(url, timeout=TIMEOUT_S)
        if self.flags is not None:
            self.socket.send(json.dumps({"type": "feature_flags", "data": self.flags}))

    def receive(self) -> dict[str, Any] | None:
        opcode, data = self.socket.recv_data()
        if opcode == websocket.ABNF.OPCODE_BINARY:
            self.frames.append(data)
            return None
        event: dict[str, Any] = json.loads(data)
        self.events.append(event)
        return event

    def wait_for(self, event_type: str, prompt_id: str | None = None) -> dict[str, Any]:
        """Read until an event of `event_type` (for `prompt_id`) arrives, and return it."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            event = self.receive()
            if event is None or event["type"] != event_type:
                continue
            if prompt_id is None or event["data"].get("prompt_id") == prompt_id:
                return event
        raise TimeoutError(f"no {event_type} event within {TIMEOUT_S} s")

    def wait_done(self, prompt_id: str) -> list[dict[str, Any]]:
        """Read until `executing {node: null}` for `prompt_id`; the prompt's events."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            event = self.receive()
            if event is None or event["data"].get("prompt_id") != prompt_id:
                continue
            if event["type"] == "executing" and event["data"]["node"] is None:
                return self.of(prompt_id)
        raise TimeoutError(f"prompt {prompt_id} did not finish within {TIMEOUT_S} s")

    def of(self, prompt_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["data"].get("prompt_id") == prompt_id]

    def close(self) -> None:
        self.socket.close()


def submit(
    base_url: str, graph: dict[str, Any], client_id: str | None = None, **extra: Any
) -> requests.Response:
    body: dict[str, Any] = {"prompt": graph, **extra}
    if client_id is not None:
        body["client_id"] = client_id
    return requests.post(f"{base_url}/prompt", json=body, timeout=TIMEOUT_S)


def run_graph(
    ws: WsClient, graph: dict[str, Any], **extra: Any
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """Submit, wait for completion; (prompt_id, events, history entry)."""
    response = submit(ws.base_url, graph, ws.client_id, **extra)
    assert response.status_code == 200, response.text
    prompt_id = response.json()["prompt_id"]
    events = ws.wait_done(prompt_id)
    history = requests.get(f"{ws.base_url}/history/{prompt_id}", timeout=TIMEOUT_S).json()
    return prompt_id, events, history[prompt_id]


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def executed_nodes(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["data"]["node"]
        for e in events
        if e["type"] == "executing" and e["data"]["node"] is not None
    ]


def parse_preview_frame(frame: bytes) -> tuple[int, dict[str, Any] | int, bytes]:
    """(event, metadata dict for event 4 / image type code for event 1, image bytes)."""
    (event,) = struct.unpack(">I", frame[:4])
    if event == 4:
        (length,) = struct.unpack(">I", frame[4:8])
        return event, json.loads(frame[8 : 8 + length]), frame[8 + length :]
    (image_type,) = struct.unpack(">I", frame[4:8])
    return event, image_type, frame[8:]


def solid_save_graph(
    prefix: str = "test/solid", red: float = 0.5, steps: int = 1, delay: float = 0.0
) -> dict[str, Any]:
    """SolidImage -> SlowPass -> SaveImage."""
    return {
        "1": {"class_type": "DGXPTest_SolidImage", "inputs": {"width": 4, "height": 3, "red": red}},
        "2": {
            "class_type": "DGXPTest_SlowPass",
            "inputs": {"image": ["1", 0], "steps": steps, "delay": delay},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": prefix}},
    }
