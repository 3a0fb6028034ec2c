"""Custom-node packs load the way ComfyUI loads them; a broken pack never stops the server."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests
from engine_client import WsClient, run_graph, solid_save_graph

from engine.node_loading import build_registry, comfy_nodes_dir
from engine.nodes import core_node_classes
from engine.runner import RunningEngine

NODE_PACKS = Path(__file__).parent / "node_packs"


def test_broken_pack_is_logged_and_skipped_while_the_server_serves(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    report = running_engine.load_report
    assert report.failed == [str(NODE_PACKS / "broken_pack")]
    _, _, entry = run_graph(ws, solid_save_graph(prefix="alive/x"))
    assert entry["status"]["status_str"] == "success"


def test_broken_pack_logs_traceback_and_comfyui_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="engine.node_loading"):
        _, report = build_registry({}, {}, [NODE_PACKS])
    messages = [r.getMessage() for r in caplog.records]
    assert any("Traceback" in m and "dgxp_module_that_does_not_exist" in m for m in messages)
    assert any(
        m.startswith(f"Cannot import {NODE_PACKS / 'broken_pack'} module for custom nodes:")
        for m in messages
    )
    summary = next(m for m in messages if m.startswith("Import times for custom nodes:"))
    assert f"(IMPORT FAILED): {NODE_PACKS / 'broken_pack'}" in summary
    assert "DGXPTest_SolidImage" in report.classes


def test_disabled_entries_are_skipped() -> None:
    registry, _ = build_registry({}, {}, [NODE_PACKS])
    assert "DGXPTest_Disabled" not in registry


def test_a_pack_cannot_replace_a_core_node(running_engine: RunningEngine) -> None:
    assert running_engine.registry.classes["SaveImage"] is core_node_classes()["SaveImage"]
    info = requests.get(f"{running_engine.url}/object_info/SaveImage", timeout=10).json()[
        "SaveImage"
    ]
    assert info["python_module"] == "nodes"


def test_a_single_file_pack_loads_under_its_stem(tmp_path: Path) -> None:
    (tmp_path / "one_file.py").write_text(
        "class N:\n"
        "    RETURN_TYPES = ()\n"
        "    FUNCTION = 'f'\n"
        "    @classmethod\n"
        "    def INPUT_TYPES(cls):\n"
        "        return {'required': {}}\n"
        "NODE_CLASS_MAPPINGS = {'OneFileNode': N}\n"
    )
    (tmp_path / "no_mappings.py").write_text("X = 1\n")
    (tmp_path / "__pycache__").mkdir()
    registry, report = build_registry({}, {}, [tmp_path])
    assert registry.python_module("OneFileNode") == "custom_nodes.one_file"
    assert report.failed == [str(tmp_path / "no_mappings.py")]


def test_comfy_nodes_pack_is_found_without_importing_it() -> None:
    folder = comfy_nodes_dir()
    assert folder is not None and (folder / "__init__.py").is_file()
