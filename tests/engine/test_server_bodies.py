"""Malformed JSON bodies get a clear 400 on every JSON route, never a 500, and the server
keeps its queue and history."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from engine_client import WsClient, run_graph, solid_save_graph

from engine.runner import RunningEngine
from engine.server.body import MAX_JSON_DEPTH

JSON_ROUTES = ["/prompt", "/queue", "/history", "/interrupt", "/free", "/api/prompt"]


def _post_raw(engine: RunningEngine, route: str, data: bytes) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{engine.url}{route}", data=data, headers=headers, timeout=30)


def _error(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _keeps_serving(engine: RunningEngine, ws: WsClient, prompt_id: str) -> None:
    """An earlier prompt's history entry is still there and a new prompt still runs."""
    assert prompt_id in requests.get(f"{engine.url}/history", timeout=10).json()
    _, _, entry = run_graph(ws, solid_save_graph(prefix="after/ok"))
    assert entry["status"]["status_str"] == "success"


@pytest.mark.parametrize("route", JSON_ROUTES)
def test_invalid_utf8_body_is_400_naming_the_byte(
    running_engine: RunningEngine, ws: WsClient, route: str
) -> None:
    earlier, _, _ = run_graph(ws, solid_save_graph(prefix="before/ok"))
    error = _error(_post_raw(running_engine, route, b'{"prompt": "\xff\xfe"}'))
    assert error["type"] == "invalid_json"
    assert error["message"] == "Request body is not UTF-8 text"
    assert "0xff at offset 12" in error["details"]
    _keeps_serving(running_engine, ws, earlier)


@pytest.mark.parametrize("route", JSON_ROUTES)
def test_a_100k_deep_body_is_400_not_a_recursion_error(
    running_engine: RunningEngine, route: str
) -> None:
    depth = 100_000
    error = _error(_post_raw(running_engine, route, b"[" * depth + b"]" * depth))
    assert error["message"] == "Request body is nested too deeply"
    assert str(MAX_JSON_DEPTH) in error["details"]


def test_a_body_just_over_the_depth_limit_is_refused_and_nothing_is_queued(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    # Parses fine, but would break copying into the queue and /history for everyone.
    nested: Any = "x"
    for _ in range(MAX_JSON_DEPTH):
        nested = [nested]
    body = {"prompt": solid_save_graph(), "extra_data": {"deep": nested}}
    response = requests.post(f"{running_engine.url}/prompt", json=body, timeout=10)
    assert _error(response)["message"] == "Request body is nested too deeply"
    queue = requests.get(f"{running_engine.url}/queue", timeout=10).json()
    assert queue == {"queue_running": [], "queue_pending": []}
    shallow = {"deep": [[["x"]]]}
    _, _, entry = run_graph(ws, solid_save_graph(), extra_data=shallow)
    assert entry["prompt"][3]["deep"] == [[["x"]]]


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/history", {"delete": 5}, "delete"),
        ("/history", {"delete": "abc"}, "delete"),
        ("/history", {"delete": [{"id": 1}]}, "delete"),
        ("/history", {"delete": [True]}, "delete"),
        ("/history", {"clear": "yes"}, "clear"),
        ("/queue", {"delete": 5}, "delete"),
        ("/queue", {"delete": {"a": 1}}, "delete"),
        ("/queue", {"clear": 1}, "clear"),
        ("/interrupt", {"prompt_id": ["x"]}, "prompt_id"),
        ("/free", {"unload_models": "yes"}, "unload_models"),
        ("/prompt", {"prompt": {}, "prompt_id": {"a": 1}}, "prompt_id"),
        ("/prompt", {"prompt": {}, "client_id": [1]}, "client_id"),
        ("/prompt", {"prompt": {}, "front": "yes"}, "front"),
        ("/prompt", {"prompt": {}, "partial_execution_targets": "9"}, "partial_execution_targets"),
    ],
)
def test_a_wrong_field_type_is_400_naming_the_field(
    running_engine: RunningEngine, ws: WsClient, route: str, body: dict[str, Any], field: str
) -> None:
    earlier, _, _ = run_graph(ws, solid_save_graph(prefix="before/ok"))
    error = _error(requests.post(f"{running_engine.url}{route}", json=body, timeout=10))
    assert error["type"] == "invalid_body"
    assert error["message"].startswith(f"{field} must be ")
    assert error["extra_info"] == {"input_name": field}
    _keeps_serving(running_engine, ws, earlier)


def test_a_non_finite_number_is_refused(running_engine: RunningEngine) -> None:
    body = json.dumps({"prompt": solid_save_graph(), "number": float("nan")}).encode()
    error = _error(_post_raw(running_engine, "/prompt", body))
    assert (error["message"], error["extra_info"]) == (
        "number must be finite",
        {"input_name": "number"},
    )


def test_valid_comfyui_bodies_still_work(running_engine: RunningEngine, ws: WsClient) -> None:
    first, _, _ = run_graph(ws, solid_save_graph(prefix="a/ok"))
    second, _, _ = run_graph(ws, solid_save_graph(prefix="b/ok"), prompt_id=7)
    assert second == "7"
    url = running_engine.url
    for route, body in [
        ("/queue", {"delete": ["nope", 3]}),
        ("/queue", {"clear": True}),
        ("/interrupt", {"prompt_id": "not-running"}),
        ("/free", {"unload_models": False, "free_memory": True}),
        ("/history", {"delete": [first]}),
    ]:
        assert requests.post(f"{url}{route}", json=body, timeout=10).status_code == 200
    assert requests.post(f"{url}/interrupt", timeout=10).status_code == 200
    assert list(requests.get(f"{url}/history", timeout=10).json()) == ["7"]
    assert requests.post(f"{url}/history", json={"clear": True}, timeout=10).status_code == 200
    assert requests.get(f"{url}/history", timeout=10).json() == {}


def test_a_deep_websocket_message_is_ignored_and_the_socket_keeps_working(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    ws.socket.send("[" * 100_000 + "]" * 100_000)
    _, _, entry = run_graph(ws, solid_save_graph(prefix="ws/ok"))
    assert entry["status"]["status_str"] == "success"
