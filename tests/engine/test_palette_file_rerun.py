"""An edited palette file re-runs DGXP_LoadPalette on the engine, as IS_CHANGED demands.

Real ComfyUI 0.3.64 and the engine both reused the stale cached palette before
LoadPalette had IS_CHANGED (docs/comfyui-compat.md).
"""

from __future__ import annotations

from pathlib import Path

from engine_client import WsClient, executed_nodes, run_graph

from engine.runner import RunningEngine


def test_editing_the_palette_file_reruns_load_palette(
    running_engine: RunningEngine, ws: WsClient, tmp_path: Path
) -> None:
    path = tmp_path / "mine.hex"
    path.write_text("ff0000\n00ff00\n")
    graph = {
        "1": {"class_type": "DGXP_LoadPalette", "inputs": {"palette": "pico-8", "file": str(path)}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 1], "filename_prefix": "pal"}},
    }
    run_graph(ws, graph)
    _, unchanged, _ = run_graph(ws, graph)
    assert executed_nodes(unchanged) == []

    path.write_text("0000ff\n00ff00\nffffff\n")
    _, edited, entry = run_graph(ws, graph)
    assert executed_nodes(edited) == ["1", "2"]
    assert entry["outputs"]["2"]["images"][0]["filename"] == "pal_00002_.png"
