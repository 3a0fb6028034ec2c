"""The engine says how long each prompt took and which nodes spent the time."""

from __future__ import annotations

import logging

import pytest
from engine_client import WsClient, run_graph, solid_save_graph


def test_prompt_log_names_the_total_and_the_slowest_node(
    ws: WsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="engine.graph.executor")
    prompt_id, _, _ = run_graph(ws, solid_save_graph(prefix="timing/a", steps=3, delay=0.05))

    lines = [r.getMessage() for r in caplog.records if prompt_id in r.getMessage()]
    (line,) = [m for m in lines if "executed in" in m]
    # The slow node (3 steps x 50 ms) is named first with its class and seconds.
    assert "executed in" in line
    assert line.index("2 DGXPTest_SlowPass") < line.index("SaveImage")


def test_a_fully_cached_prompt_says_so(ws: WsClient, caplog: pytest.LogCaptureFixture) -> None:
    graph = solid_save_graph(prefix="timing/b")
    run_graph(ws, graph)
    caplog.set_level(logging.INFO, logger="engine.graph.executor")
    # SaveImage is an output node without IS_CHANGED, so only its upstream is cached;
    # the log must still list just what ran.
    prompt_id, _, _ = run_graph(ws, graph)
    (line,) = [r.getMessage() for r in caplog.records if f"Prompt {prompt_id}" in r.getMessage()]
    assert "DGXPTest_SlowPass" not in line
