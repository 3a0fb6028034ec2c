"""Fixtures for the ZeroMQ bridge tests: real sockets on ephemeral endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from zmq_helpers import Sockets, StoreService

from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge


@pytest.fixture
def sprite_png(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "sprite.png"
    Image.new("RGBA", (2, 4), (255, 0, 0, 255)).save(path)
    return path


@pytest.fixture
def bridge(store_service: StoreService) -> Iterator[ZmqBridge]:
    config = BridgeConfig(router="tcp://127.0.0.1:*", pub="tcp://127.0.0.1:*", heartbeat_s=0.2)
    with ZmqBridge(store_service, config) as running:
        yield running


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    opened = Sockets()
    yield opened
    opened.close()
