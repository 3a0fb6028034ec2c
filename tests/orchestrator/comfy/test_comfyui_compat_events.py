"""WebSocket messages exactly as real ComfyUI 0.3.64 sent them (see docs/comfyui-compat.md).

These frames were captured from a real ComfyUI server; the embedded engine does not send
all of them, so without these tests the client would only ever be checked against itself.
"""

from __future__ import annotations

import json

import pytest

from orchestrator.comfy.errors import BackendProtocolError, ExecutionFailed
from orchestrator.comfy.events import ExecutedEvent, ProgressStateEvent, parse_text_frame

URL = "ws://127.0.0.1:8188/ws?clientId=test"
PROMPT_ID = "8ca10612-0c64-41d5-84e1-e53d646be16c"


def test_cached_output_node_without_ui_parses_with_empty_output() -> None:
    # ComfyUI re-sends `executed` for cached output nodes with `output: null` when the
    # node returned no `ui` (any output node may; DGXP_SpriteReport did before its ui text).
    frame = json.dumps(
        {
            "type": "executed",
            "data": {"node": "4", "display_node": "4", "output": None, "prompt_id": PROMPT_ID},
        }
    )
    event = parse_text_frame(frame, URL)
    assert isinstance(event, ExecutedEvent)
    assert event.node == "4"
    assert event.output == {}
    assert event.prompt_id == PROMPT_ID


def test_executed_with_images_keeps_the_output() -> None:
    images = [{"filename": "sprite_00001_.png", "subfolder": "dgxp_raw", "type": "output"}]
    frame = json.dumps(
        {
            "type": "executed",
            "data": {
                "node": "3",
                "display_node": "3",
                "output": {"images": images},
                "prompt_id": PROMPT_ID,
            },
        }
    )
    event = parse_text_frame(frame, URL)
    assert isinstance(event, ExecutedEvent)
    assert event.output == {"images": images}


def test_executed_with_a_non_object_output_is_still_a_protocol_error() -> None:
    frame = json.dumps({"type": "executed", "data": {"node": "3", "output": [1, 2]}})
    with pytest.raises(BackendProtocolError, match="malformed 'executed' event"):
        parse_text_frame(frame, URL)


def test_real_progress_state_frame_parses() -> None:
    node = {
        "value": 1.0,
        "max": 1.0,
        "state": "finished",
        "node_id": "2",
        "prompt_id": PROMPT_ID,
        "display_node_id": "2",
        "parent_node_id": None,
        "real_node_id": "2",
    }
    frame = json.dumps(
        {"type": "progress_state", "data": {"prompt_id": PROMPT_ID, "nodes": {"2": node}}}
    )
    event = parse_text_frame(frame, URL)
    assert isinstance(event, ProgressStateEvent)
    assert event.nodes["2"].state == "finished"
    assert event.nodes["2"].value == 1.0


def test_execution_failed_message_drops_comfyuis_trailing_newline() -> None:
    data = {
        "node_id": "4",
        "node_type": "CheckpointLoaderSimple",
        "exception_type": "RuntimeError",
        "exception_message": "ERROR: Could not detect model type of: /m/tiny.safetensors\n",
    }
    error = ExecutionFailed("p1", data)
    assert str(error).endswith("Could not detect model type of: /m/tiny.safetensors")
    assert error.data["exception_message"].endswith("\n")
