"""Fixtures for the TUI tests: a real bridge on ipc:// endpoints over `store_service`
(tests/orchestrator/conftest.py, shared with the bridge tests) and the app's client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.adapters.zmq.bridge import BridgeConfig, ZmqBridge


@pytest.fixture
def endpoints(tmp_path: Path) -> BridgeConfig:
    return BridgeConfig(
        router=f"ipc://{tmp_path}/req", pub=f"ipc://{tmp_path}/pub", heartbeat_s=0.1
    )


@pytest.fixture
def bridge(store_service: object, endpoints: BridgeConfig) -> Iterator[ZmqBridge]:
    with ZmqBridge(store_service, endpoints) as running:  # type: ignore[arg-type]
        yield running


@pytest.fixture
def sprite_png(tmp_path: Path) -> Path:
    """A 2x4 sprite: red on top of a transparent bottom half."""
    from PIL import Image

    path = tmp_path / "sprite.png"
    img = Image.new("RGBA", (2, 4), (0, 0, 0, 0))
    for x in range(2):
        for y in range(2):
            img.putpixel((x, y), (255, 0, 0, 255))
    img.save(path)
    return path
