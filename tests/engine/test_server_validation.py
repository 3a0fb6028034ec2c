"""Every ComfyUI validation error comes back over HTTP for a crafted bad graph, and the
server keeps serving with its queue and history intact afterwards."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from engine_client import WsClient, run_graph, solid_save_graph, submit

from engine.runner import RunningEngine


def _post(engine: RunningEngine, graph: Any) -> requests.Response:
    return submit(engine.url, graph)


def _node_errors(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert body["error"]["message"] == "Prompt outputs failed validation"
    node_errors: dict[str, Any] = body["node_errors"]
    return node_errors


def _error_types(node_errors: dict[str, Any], node_id: str) -> list[str]:
    return [e["type"] for e in node_errors[node_id]["errors"]]


def _assert_still_serving(engine: RunningEngine, ws: WsClient) -> None:
    queue = requests.get(f"{engine.url}/queue", timeout=10).json()
    assert queue == {"queue_running": [], "queue_pending": []}
    _, _, entry = run_graph(ws, solid_save_graph(prefix="after/ok"))
    assert entry["status"]["status_str"] == "success"


def test_unknown_node_type_is_invalid_prompt(running_engine: RunningEngine, ws: WsClient) -> None:
    response = _post(running_engine, {"7": {"class_type": "NoSuchNode", "inputs": {}}})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "type": "invalid_prompt",
            "message": "Cannot execute because node NoSuchNode does not exist.",
            "details": "Node ID '#7'",
            "extra_info": {},
        },
        "node_errors": {},
    }
    _assert_still_serving(running_engine, ws)


def test_node_without_class_type_is_invalid_prompt(running_engine: RunningEngine) -> None:
    response = _post(running_engine, {"1": {"inputs": {}}})
    assert response.json()["error"]["type"] == "invalid_prompt"
    assert response.json()["error"]["details"] == "Node ID '#1'"


def test_graph_without_output_node_is_prompt_no_outputs(running_engine: RunningEngine) -> None:
    graph = {
        "1": {"class_type": "DGXPTest_SolidImage", "inputs": {"width": 2, "height": 2, "red": 0.0}}
    }
    response = _post(running_engine, graph)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "prompt_no_outputs"


def test_many_bad_inputs_come_back_in_one_response(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = {
        "1": {
            "class_type": "DGXPTest_SolidImage",
            "inputs": {"width": 999, "height": "abc", "red": -1},
        },
        "2": {
            "class_type": "ImageScale",
            "inputs": {"image": ["1", 0], "upscale_method": "magic", "width": 4},
        },
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0]}},
    }
    errors = _node_errors(_post(running_engine, graph))
    assert _error_types(errors, "1") == [
        "value_bigger_than_max",
        "invalid_input_type",
        "value_smaller_than_min",
    ]
    assert sorted(_error_types(errors, "2")) == [
        "required_input_missing",
        "required_input_missing",
        "value_not_in_list",
    ]
    assert _error_types(errors, "3") == ["required_input_missing"]
    for node_id in ("1", "2", "3"):
        assert errors[node_id]["dependent_outputs"] == ["3"]
    assert errors["1"]["class_type"] == "DGXPTest_SolidImage"
    big = next(e for e in errors["1"]["errors"] if e["type"] == "value_bigger_than_max")
    assert big["message"] == "Value 999 bigger than max of 64"
    assert big["details"] == "width"
    assert big["extra_info"]["received_value"] == 999
    combo = next(e for e in errors["2"]["errors"] if e["type"] == "value_not_in_list")
    assert combo["details"] == (
        "upscale_method: 'magic' not in ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']"
    )
    _assert_still_serving(running_engine, ws)


def test_link_of_wrong_type_is_return_type_mismatch(running_engine: RunningEngine) -> None:
    graph = {
        "1": {"class_type": "DGXPTest_CountTo", "inputs": {"n": 2}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    error = _node_errors(_post(running_engine, graph))["2"]["errors"][0]
    assert error["type"] == "return_type_mismatch"
    assert error["details"] == "images, received_type(INT) mismatch input_type(IMAGE)"


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (["1"], "Bad linked input, must be a length-2 list of [node_id, slot_index]"),
        (["42", 0], "Linked node does not exist"),
        (["1", 5], "Linked output slot does not exist"),
    ],
)
def test_bad_links_are_bad_linked_input(
    running_engine: RunningEngine, ws: WsClient, link: list[Any], message: str
) -> None:
    graph = solid_save_graph()
    graph["2"]["inputs"]["image"] = link
    error = _node_errors(_post(running_engine, graph))["2"]["errors"][0]
    assert (error["type"], error["message"]) == ("bad_linked_input", message)
    _assert_still_serving(running_engine, ws)


def test_cycle_is_reported_not_recursed(running_engine: RunningEngine, ws: WsClient) -> None:
    graph = {
        "1": {"class_type": "DGXPTest_AlwaysRerun", "inputs": {"image": ["2", 0]}},
        "2": {"class_type": "DGXPTest_AlwaysRerun", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}},
    }
    errors = _node_errors(_post(running_engine, graph))
    cycle = [
        e for errs in errors.values() for e in errs["errors"] if e["type"] == "dependency_cycle"
    ]
    assert len(cycle) == 1
    assert "2 -> 1 -> 2" in cycle[0]["details"]
    _assert_still_serving(running_engine, ws)


def test_validate_inputs_failure_is_custom_validation_failed(running_engine: RunningEngine) -> None:
    graph = {
        "1": {"class_type": "DGXPTest_EvenOnly", "inputs": {"value": 3}},
        "2": {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["1", 0]}},
    }
    error = _node_errors(_post(running_engine, graph))["1"]["errors"][0]
    assert error["type"] == "custom_validation_failed"
    assert error["details"] == "value - value 3 is odd"


def test_validate_inputs_naming_an_input_turns_off_its_range_check(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = {
        "1": {"class_type": "DGXPTest_EvenOnly", "inputs": {"value": 12}},
        "2": {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["1", 0]}},
    }
    _, _, entry = run_graph(ws, graph)
    assert entry["outputs"]["2"]["text"] == ["12"]


def test_huge_width_height_and_batch_are_refused_by_range_validation(
    running_engine: RunningEngine,
) -> None:
    graph = {
        "1": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 10**9, "height": 10**6, "batch_size": 10**5},
        },
        "2": {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["1", 0]}},
    }
    errors = _node_errors(_post(running_engine, graph))
    assert _error_types(errors, "1") == ["value_bigger_than_max"] * 3


def test_a_failing_output_is_dropped_and_the_others_queued(running_engine: RunningEngine) -> None:
    graph = {
        "1": {"class_type": "ImageScale", "inputs": {"image": ["2", 0], "upscale_method": "area",
                                                     "width": 2, "height": 2, "crop": "disabled"}},
        "2": {"class_type": "DGXPTest_SolidImage", "inputs": {"width": 2, "height": 2, "red": 0.0}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
        "4": {"class_type": "LoadImage", "inputs": {"image": "missing.png"}},
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["4", 0]}},
    }  # fmt: skip
    response = _post(running_engine, graph)
    assert response.status_code == 200  # output 3 is fine; output 5 is dropped with its errors
    body = response.json()
    assert body["node_errors"]["4"]["errors"][0]["type"] == "custom_validation_failed"
    assert body["node_errors"]["4"]["dependent_outputs"] == ["5"]


def test_value_not_in_list_of_more_than_20_shows_the_length(running_engine: RunningEngine) -> None:
    from engine.graph.validate_inputs import _Check, _combo_error

    check = _Check("ckpt_name", [f"m{i}" for i in range(21)], {}, [], False)
    error = _combo_error(check, "nope")
    assert error is not None
    assert error["details"] == "ckpt_name: 'nope' not in (list of length 21)"
    assert error["extra_info"]["input_config"] is None


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b'{"client_id": "x"}', "no_prompt"),
        (b'{"prompt": [1, 2]}', "invalid_prompt"),
        (b'{"prompt": {"1": {"class_type": "SaveImage", "inputs": 5}}}', "invalid_prompt"),
    ],
)
def test_malformed_bodies_get_a_clear_400(
    running_engine: RunningEngine, ws: WsClient, body: bytes, kind: str
) -> None:
    response = requests.post(f"{running_engine.url}/prompt", data=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == kind
    assert response.json()["node_errors"] == {}
    _assert_still_serving(running_engine, ws)


def test_rejected_prompts_leave_history_untouched(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    prompt_id, _, _ = run_graph(ws, solid_save_graph(prefix="keep/x"))
    _post(running_engine, {"1": {"class_type": "NoSuchNode", "inputs": {}}})
    requests.post(f"{running_engine.url}/prompt", data=b"{{{", timeout=10)
    history = requests.get(f"{running_engine.url}/history", timeout=10).json()
    assert list(history) == [prompt_id]
