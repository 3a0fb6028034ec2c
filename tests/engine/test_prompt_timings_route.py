"""`/dgxp/timings/{prompt_id}`: the engine's own figures for one finished prompt."""

from __future__ import annotations

import requests
from engine_client import TIMEOUT_S, WsClient, run_graph, solid_save_graph


def test_timings_name_every_node_that_ran_with_its_class_and_seconds(ws: WsClient) -> None:
    prompt_id, _, _ = run_graph(ws, solid_save_graph(prefix="timings/a", steps=2, delay=0.02))

    reply = requests.get(f"{ws.base_url}/dgxp/timings/{prompt_id}", timeout=TIMEOUT_S)

    assert reply.status_code == 200, reply.text
    entry = reply.json()
    assert entry["prompt_id"] == prompt_id
    by_node = {n["node"]: n for n in entry["nodes"]}
    assert {k: v["class_type"] for k, v in by_node.items()} == {
        "1": "DGXPTest_SolidImage",
        "2": "DGXPTest_SlowPass",
        "3": "SaveImage",
    }
    # Clock order only: queued, started, executed, history (no durations asserted).
    assert entry["queued_at"] <= entry["started_at"] <= entry["executed_at"]
    assert entry["executed_at"] <= entry["history_at"]
    assert sum(n["seconds"] for n in entry["nodes"]) <= entry["execution_s"]


def test_a_fully_cached_rerun_lists_no_node(ws: WsClient) -> None:
    graph = solid_save_graph(prefix="timings/b")
    run_graph(ws, graph)
    prompt_id, _, _ = run_graph(ws, graph)

    entry = requests.get(f"{ws.base_url}/api/dgxp/timings/{prompt_id}", timeout=TIMEOUT_S).json()

    # Same inputs: every node (SaveImage too) is reused from the cache, nothing ran.
    assert entry["prompt_id"] == prompt_id
    assert entry["nodes"] == []


def test_an_unknown_prompt_is_a_404_naming_the_id_and_the_engine_keeps_serving(
    ws: WsClient,
) -> None:
    reply = requests.get(f"{ws.base_url}/dgxp/timings/no-such-prompt", timeout=TIMEOUT_S)

    assert reply.status_code == 404
    error = reply.json()["error"]
    assert error["type"] == "unknown_prompt"
    assert "no-such-prompt" in error["details"]
    assert error["extra_info"] == {"input_name": "prompt_id"}
    prompt_id, _, _ = run_graph(ws, solid_save_graph(prefix="timings/c"))
    assert requests.get(f"{ws.base_url}/dgxp/timings/{prompt_id}", timeout=TIMEOUT_S).ok
