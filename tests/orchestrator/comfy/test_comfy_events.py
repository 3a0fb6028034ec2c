"""Parsing WebSocket frames into typed events (the frames are built byte for byte)."""

from __future__ import annotations

import json
import struct

import pytest

from orchestrator.comfy.errors import BackendProtocolError
from orchestrator.comfy.events import (
    ExecutedEvent,
    ExecutingEvent,
    ExecutionErrorEvent,
    FeatureFlagsEvent,
    PreviewFrame,
    ProgressEvent,
    ProgressStateEvent,
    ProgressTextFrame,
    StatusEvent,
    UnknownEvent,
    parse_binary_frame,
    parse_text_frame,
)

URL = "ws://127.0.0.1:1/ws?clientId=c"


def _text(kind: str, data: object) -> str:
    return json.dumps({"type": kind, "data": data})


def test_status_carries_sid_and_queue() -> None:
    event = parse_text_frame(
        _text("status", {"status": {"exec_info": {"queue_remaining": 2}}, "sid": "abc"}), URL
    )
    assert isinstance(event, StatusEvent)
    assert event.sid == "abc"
    assert event.queue_remaining == 2


def test_executing_null_node_is_the_done_signal() -> None:
    event = parse_text_frame(_text("executing", {"node": None, "prompt_id": "p1"}), URL)
    assert isinstance(event, ExecutingEvent)
    assert event.node is None and event.prompt_id == "p1"


def test_progress_and_progress_state() -> None:
    progress = parse_text_frame(
        _text("progress", {"value": 1, "max": 2, "prompt_id": "p", "node": "3"}), URL
    )
    assert isinstance(progress, ProgressEvent)
    assert (progress.value, progress.max, progress.node) == (1, 2, "3")
    state = parse_text_frame(
        _text(
            "progress_state",
            {"prompt_id": "p", "nodes": {"3": {"value": 1, "max": 2, "state": "running"}}},
        ),
        URL,
    )
    assert isinstance(state, ProgressStateEvent)
    assert state.nodes["3"].state == "running"


def test_executed_and_error_keep_their_payload() -> None:
    output = {"images": [{"filename": "a_00001_.png", "subfolder": "", "type": "output"}]}
    executed = parse_text_frame(
        _text("executed", {"node": "9", "display_node": "9", "output": output, "prompt_id": "p"}),
        URL,
    )
    assert isinstance(executed, ExecutedEvent)
    assert executed.output == output
    error = parse_text_frame(
        _text(
            "execution_error",
            {
                "prompt_id": "p",
                "node_id": "8",
                "node_type": "VAEDecode",
                "exception_message": "boom",
                "exception_type": "RuntimeError",
                "traceback": ["line"],
                "executed": [],
                "current_inputs": {},
                "current_outputs": [],
                "timestamp": 1,
            },
        ),
        URL,
    )
    assert isinstance(error, ExecutionErrorEvent)
    assert (error.node_id, error.exception_message) == ("8", "boom")


def test_feature_flags_keep_unknown_flags() -> None:
    event = parse_text_frame(
        _text("feature_flags", {"supports_preview_metadata": True, "max_upload_size": 10}), URL
    )
    assert isinstance(event, FeatureFlagsEvent)
    assert event.supports_preview_metadata is True
    assert event.max_upload_size == 10


def test_unknown_type_is_kept_not_fatal() -> None:
    event = parse_text_frame(_text("crystools.monitor", {"cpu": 3}), URL)
    assert isinstance(event, UnknownEvent)
    assert event.type == "crystools.monitor"
    assert event.data == {"cpu": 3}


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("<html>", "non-JSON text frame"),
        (json.dumps({"data": {}}), "without a string 'type'"),
        (_text("progress", "x"), "data is not an object"),
        (_text("progress", {"value": "one", "max": 2}), "malformed 'progress' event"),
    ],
)
def test_bad_text_frames_are_protocol_errors_naming_the_url(frame: str, message: str) -> None:
    with pytest.raises(BackendProtocolError, match=message) as err:
        parse_text_frame(frame, URL)
    assert URL in str(err.value)


def test_preview_event_1_png() -> None:
    frame = struct.pack(">II", 1, 2) + b"\x89PNGdata"
    event = parse_binary_frame(frame, URL)
    assert isinstance(event, PreviewFrame)
    assert (event.event, event.image_type, event.image) == (1, "image/png", b"\x89PNGdata")
    assert event.prompt_id is None


def test_preview_event_4_with_metadata() -> None:
    meta = json.dumps(
        {"node_id": "3", "prompt_id": "p", "display_node_id": "3", "image_type": "image/jpeg"}
    ).encode()
    frame = struct.pack(">II", 4, len(meta)) + meta + b"\xff\xd8jpeg"
    event = parse_binary_frame(frame, URL)
    assert isinstance(event, PreviewFrame)
    assert event.event == 4
    assert (event.prompt_id, event.node_id, event.image_type) == ("p", "3", "image/jpeg")
    assert event.image == b"\xff\xd8jpeg"


def test_progress_text_event_3() -> None:
    frame = struct.pack(">II", 3, 2) + b"12" + "step 1 ✓".encode()
    event = parse_binary_frame(frame, URL)
    assert isinstance(event, ProgressTextFrame)
    assert (event.node_id, event.text) == ("12", "step 1 ✓")


def test_unknown_binary_event_is_kept() -> None:
    event = parse_binary_frame(struct.pack(">I", 9) + b"abc", URL)
    assert isinstance(event, UnknownEvent)
    assert event.type == "binary:9"
    assert event.data == {"event": 9, "size": 3}


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\x00\x01", "binary frame of 2 bytes"),
        (struct.pack(">I", 1), "truncated preview frame"),
        (struct.pack(">II", 4, 99) + b"{}", "metadata length 99 exceeds the frame"),
        (struct.pack(">II", 4, 2) + b"[]", "metadata that is not an object"),
        (struct.pack(">II", 4, 2) + b"{x", "metadata that is not JSON"),
    ],
)
def test_bad_binary_frames_are_protocol_errors(frame: bytes, message: str) -> None:
    with pytest.raises(BackendProtocolError, match=message):
        parse_binary_frame(frame, URL)
