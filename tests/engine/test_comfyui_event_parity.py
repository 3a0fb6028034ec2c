"""The engine's WebSocket sequence matches what REAL ComfyUI 0.3.64 sent for the same graphs.

Observed on a real server (docs/comfyui-compat.md): `executed` comes before the node's
`finished` progress_state; cached nodes that are not output nodes are never mentioned in
progress_state; a cached output node without a `ui` gets `executed` with `output: null`;
a failing node gets no "error" progress_state; `exception_message` ends with a newline;
`execution_cached` lists nodes in the prompt's order.
"""

from __future__ import annotations

from typing import Any

from engine_client import WsClient, run_graph

from engine.runner import RunningEngine


def _graph(prefix: str) -> dict[str, Any]:
    """Solid image -> SaveImage, plus an output node with no ui (as DGXP_SpriteReport was
    when the real server was observed; it now returns its report as ui text)."""
    return {
        "1": {"class_type": "DGXPTest_SolidImage", "inputs": {"width": 4, "height": 3, "red": 0.5}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
        "3": {"class_type": "DGXPTest_NoUiOutput", "inputs": {"image": ["1", 0]}},
    }


def _wire(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Events as (type, node) with progress_state reduced to its {node: state} table."""
    wire: list[tuple[Any, ...]] = []
    for event in events:
        data = event["data"]
        if event["type"] == "progress_state":
            wire.append(("progress_state", {n: s["state"] for n, s in data["nodes"].items()}))
        elif event["type"] in ("executing", "executed"):
            wire.append((event["type"], data["node"]))
    return wire


def test_executed_precedes_the_nodes_finished_state(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    _, events, _ = run_graph(ws, _graph("parity/a"))
    wire = _wire(events)
    saved = wire.index(("executed", "2"))
    assert wire[saved - 1] == ("executing", "2")
    assert wire[saved + 1][0] == "progress_state"
    assert wire[saved + 1][1]["2"] == "finished"
    assert wire[saved - 2][1]["2"] == "running"


def test_identical_resubmit_revisits_only_the_output_nodes(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = _graph("parity/b")
    run_graph(ws, graph)
    _, events, entry = run_graph(ws, graph)

    cached = next(e["data"]["nodes"] for e in events if e["type"] == "execution_cached")
    assert cached == ["1", "2", "3"]
    executed = {e["data"]["node"]: e["data"]["output"] for e in events if e["type"] == "executed"}
    assert executed["3"] is None
    assert executed["2"]["images"][0]["filename"] == "b_00001_.png"
    states = [e["data"]["nodes"] for e in events if e["type"] == "progress_state"]
    assert states and all("1" not in table for table in states)
    assert {n: s["state"] for n, s in states[-1].items()} == {"2": "finished", "3": "finished"}
    assert set(entry["outputs"]) == {"2"}


def test_failure_sends_no_error_state_and_a_newline_terminated_message(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = _graph("parity/c")
    graph["4"] = {"class_type": "DGXPTest_Fail", "inputs": {"image": ["1", 0], "message": "x"}}
    graph["2"]["inputs"]["images"] = ["4", 0]
    _, events, _ = run_graph(ws, graph)

    states = [e["data"]["nodes"] for e in events if e["type"] == "progress_state"]
    assert all(s["state"] != "error" for table in states for s in table.values())
    error = next(e["data"] for e in events if e["type"] == "execution_error")
    assert error["exception_message"] == "test failure: x\n"
