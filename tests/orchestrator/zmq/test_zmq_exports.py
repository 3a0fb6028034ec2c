"""The public surface of the ZeroMQ and TUI modules is explicit and importable."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "orchestrator.zmq_messages",
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


def test_protocol_re_exports_every_message_model() -> None:
    messages = importlib.import_module("orchestrator.zmq_messages")
    protocol = importlib.import_module("orchestrator.zmq_protocol")
    assert set(messages.__all__) <= set(protocol.__all__)
