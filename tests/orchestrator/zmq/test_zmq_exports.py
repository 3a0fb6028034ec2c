"""The public surface of the ZeroMQ and TUI modules is explicit and importable."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "orchestrator.zmq_messages",
    "orchestrator.zmq_events",
    "orchestrator.zmq_protocol",
    "orchestrator.zmq_handlers",
    "orchestrator.zmq_bridge",
    "orchestrator.tui.halfcell",
    "orchestrator.tui.graphics",
    "orchestrator.tui.book",
    "orchestrator.tui.client",
    "orchestrator.tui.errors",
    "orchestrator.tui.widgets",
    "orchestrator.tui.screens",
    "orchestrator.tui.app",
    "orchestrator.cli.tui_cmd",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(set(exported)) == len(exported)
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []


@pytest.mark.parametrize("name", ["orchestrator.zmq_messages", "orchestrator.zmq_events"])
def test_protocol_re_exports_every_message_model(name: str) -> None:
    models = importlib.import_module(name)
    protocol = importlib.import_module("orchestrator.zmq_protocol")
    assert set(models.__all__) - {"WireModel"} <= set(protocol.__all__)
