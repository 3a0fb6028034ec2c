"""The public surface of the ZeroMQ and TUI modules is explicit and importable."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "orchestrator.wire.zmq_messages",
    "orchestrator.wire.zmq_events",
    "orchestrator.wire.zmq_protocol",
    "orchestrator.adapters.zmq.handlers",
    "orchestrator.adapters.zmq.bridge",
    "orchestrator.adapters.tui.halfcell",
    "orchestrator.adapters.tui.graphics",
    "orchestrator.adapters.tui.book",
    "orchestrator.adapters.tui.daemon_client",
    "orchestrator.adapters.tui.errors",
    "orchestrator.adapters.tui.widgets",
    "orchestrator.adapters.tui.screens",
    "orchestrator.adapters.tui.app",
    "orchestrator.adapters.cli.tui_cmd",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(set(exported)) == len(exported)
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []


@pytest.mark.parametrize("name", ["orchestrator.wire.zmq_messages", "orchestrator.wire.zmq_events"])
def test_protocol_re_exports_every_message_model(name: str) -> None:
    models = importlib.import_module(name)
    protocol = importlib.import_module("orchestrator.wire.zmq_protocol")
    assert set(models.__all__) - {"WireModel"} <= set(protocol.__all__)
