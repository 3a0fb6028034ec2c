"""End to end over real HTTP + WS: ComfyUI's event sequence, history entry and caching."""

from __future__ import annotations

import requests
from engine_client import WsClient, event_types, executed_nodes, run_graph, solid_save_graph, submit

from engine.runner import RunningEngine


def test_event_sequence_and_history_entry_have_comfyui_shapes(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = solid_save_graph(prefix="flow/sprite", steps=2)
    prompt_id, events, entry = run_graph(
        ws, graph, extra_data={"extra_pnginfo": {"workflow": {"x": 1}}}
    )

    states = [e["data"] for e in events if e["type"] == "progress_state"]
    events = [e for e in events if e["type"] != "progress_state"]
    assert event_types(events) == [
        "execution_start",
        "execution_cached",
        "executing",
        "executing",
        "progress",
        "progress",
        "executing",
        "executed",
        "execution_success",
        "executing",
    ]
    assert executed_nodes(events) == ["1", "2", "3"]
    progress = [e["data"] for e in events if e["type"] == "progress"]
    assert progress == [
        {"value": 1, "max": 2, "prompt_id": prompt_id, "node": "2"},
        {"value": 2, "max": 2, "prompt_id": prompt_id, "node": "2"},
    ]
    executed = next(e["data"] for e in events if e["type"] == "executed")
    image = {"filename": "sprite_00001_.png", "subfolder": "flow", "type": "output"}
    assert executed == {
        "node": "3",
        "display_node": "3",
        "output": {"images": [image]},
        "prompt_id": prompt_id,
    }
    assert events[-1]["data"] == {"node": None, "prompt_id": prompt_id}
    assert states[0]["nodes"] == {
        "1": {
            "value": 0.0, "max": 1.0, "state": "running", "node_id": "1", "prompt_id": prompt_id,
            "display_node_id": "1", "parent_node_id": None, "real_node_id": "1",
        }
    }  # fmt: skip
    final = {node: (s["state"], s["value"], s["max"]) for node, s in states[-1]["nodes"].items()}
    assert final == {"1": ("finished", 1, 1), "2": ("finished", 2, 2), "3": ("finished", 1, 1)}

    assert set(entry) == {"prompt", "outputs", "status", "meta"}
    number, stored_id, stored_graph, extra, outputs = entry["prompt"]
    assert (number, stored_id, stored_graph, outputs) == (0, prompt_id, graph, ["3"])
    assert extra == {"extra_pnginfo": {"workflow": {"x": 1}}, "client_id": ws.client_id}
    assert entry["outputs"] == {"3": {"images": [image]}}
    assert entry["meta"] == {
        "3": {"node_id": "3", "display_node": "3", "parent_node": None, "real_node_id": "3"}
    }
    status = entry["status"]
    assert status["status_str"] == "success" and status["completed"] is True
    assert [m[0] for m in status["messages"]] == [
        "execution_start",
        "execution_cached",
        "execution_success",
    ]
    assert all(isinstance(m[1]["timestamp"], int) for m in status["messages"])


def test_history_is_written_before_the_final_executing_event(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    prompt_id = submit(running_engine.url, solid_save_graph(), ws.client_id).json()["prompt_id"]
    ws.wait_for("execution_success", prompt_id)
    ws.wait_done(prompt_id)
    history = requests.get(f"{running_engine.url}/history/{prompt_id}", timeout=10).json()
    assert history[prompt_id]["status"]["completed"] is True


def test_unchanged_nodes_come_from_the_cache_on_the_next_prompt(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    run_graph(ws, solid_save_graph(prefix="cache/a"))
    changed_downstream = solid_save_graph(prefix="cache/b")
    _, events, entry = run_graph(ws, changed_downstream)

    cached = next(e["data"]["nodes"] for e in events if e["type"] == "execution_cached")
    assert sorted(cached) == ["1", "2"]
    assert executed_nodes(events) == ["3"]
    assert entry["outputs"]["3"]["images"][0]["filename"] == "b_00001_.png"


def test_identical_prompt_reuses_every_node_and_resends_executed(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = solid_save_graph(prefix="same/x")
    _, _, first = run_graph(ws, graph)
    _, events, second = run_graph(ws, graph)

    assert executed_nodes(events) == []
    assert sorted(next(e["data"]["nodes"] for e in events if e["type"] == "execution_cached")) == [
        "1",
        "2",
        "3",
    ]
    assert [e["data"]["node"] for e in events if e["type"] == "executed"] == ["3"]
    assert second["outputs"] == first["outputs"]


def test_changing_an_upstream_value_reruns_everything_downstream(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    run_graph(ws, solid_save_graph(red=0.25))
    _, events, _ = run_graph(ws, solid_save_graph(red=0.75))
    assert executed_nodes(events) == ["1", "2", "3"]


def test_nan_is_changed_always_reruns_the_node_and_its_dependents(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = {
        "1": {"class_type": "DGXPTest_SolidImage", "inputs": {"width": 2, "height": 2, "red": 0.1}},
        "2": {"class_type": "DGXPTest_AlwaysRerun", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
    }
    run_graph(ws, graph)
    _, events, entry = run_graph(ws, graph)
    assert executed_nodes(events) == ["2", "3"]
    assert entry["outputs"]["3"]["images"][0]["type"] == "temp"


def test_only_nodes_that_outputs_need_are_executed(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = solid_save_graph(prefix="needed/x")
    graph["9"] = {
        "class_type": "DGXPTest_Fail",
        "inputs": {"image": ["1", 0], "message": "never run"},
    }
    _, events, entry = run_graph(ws, graph)
    assert "9" not in executed_nodes(events)
    assert entry["status"]["status_str"] == "success"


def test_partial_execution_targets_runs_only_the_named_outputs(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = solid_save_graph(prefix="partial/a")
    graph["4"] = {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
    _, events, entry = run_graph(ws, graph, partial_execution_targets=["4"])
    assert executed_nodes(events) == ["1", "4"]
    assert entry["prompt"][4] == ["4"]
    assert list(entry["outputs"]) == ["4"]


def test_list_outputs_map_downstream_nodes_and_hidden_inputs_are_filled(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = {
        "1": {"class_type": "DGXPTest_CountTo", "inputs": {"n": 3}},
        "2": {"class_type": "DGXPTest_Double", "inputs": {"value": ["1", 0]}},
        "3": {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["2", 0]}},
    }
    _, _, entry = run_graph(ws, graph)
    assert entry["outputs"]["3"] == {"text": ["2", "4", "6"], "node": ["3"]}


def test_node_exception_gives_execution_error_with_comfyui_fields(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = solid_save_graph(prefix="err/x")
    graph["2"] = {"class_type": "DGXPTest_Fail", "inputs": {"image": ["1", 0], "message": "kaput"}}
    _, events, entry = run_graph(ws, graph)

    error = next(e["data"] for e in events if e["type"] == "execution_error")
    assert set(error) == {
        "prompt_id", "node_id", "node_type", "executed", "exception_message", "exception_type",
        "traceback", "current_inputs", "current_outputs", "timestamp",
    }  # fmt: skip
    assert (error["node_id"], error["node_type"]) == ("2", "DGXPTest_Fail")
    assert error["exception_message"] == "test failure: kaput\n"  # ComfyUI: "{ex}\n{tips}"
    assert error["exception_type"] == "ValueError"
    assert error["executed"] == ["1"]
    assert error["current_inputs"]["message"] == ["kaput"]
    assert isinstance(error["traceback"], list) and error["traceback"]
    assert "execution_success" not in event_types(events)
    assert entry["status"]["status_str"] == "error" and entry["status"]["completed"] is False
    assert entry["outputs"] == {}
    assert entry["status"]["messages"][-1][0] == "execution_error"


def test_without_client_id_only_progress_is_broadcast(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    silent = submit(running_engine.url, solid_save_graph(prefix="silent/x")).json()["prompt_id"]
    loud = submit(running_engine.url, solid_save_graph(prefix="loud/x"), ws.client_id).json()[
        "prompt_id"
    ]
    ws.wait_done(loud)
    # Only progress and progress_state are broadcast for a prompt without client_id (as ComfyUI).
    assert {e["type"] for e in ws.of(silent)} <= {"progress", "progress_state"}
    history = requests.get(f"{running_engine.url}/history/{silent}", timeout=10).json()
    assert history[silent]["status"]["status_str"] == "success"


def test_non_json_ui_values_do_not_break_history_or_events(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    _, events, entry = run_graph(ws, {"1": {"class_type": "DGXPTest_TensorUi", "inputs": {}}})
    assert entry["outputs"]["1"] == {"tensor": [[1, 2]], "object": ["<class 'object'>"]}
    executed = next(e["data"] for e in events if e["type"] == "executed")
    assert executed["output"]["tensor"] == [[1, 2]]
