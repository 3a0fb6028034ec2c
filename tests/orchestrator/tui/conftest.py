"""Fixtures for the TUI tests: a real bridge on ipc:// endpoints and the app's client.

The StoreService helper is shared with the bridge tests; it is loaded from its file so
neither test folder needs to be a package (a `zmq` package would shadow pyzmq).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from orchestrator.jobs import JobStore
from orchestrator.zmq_bridge import BridgeConfig, ZmqBridge


def _helpers() -> ModuleType:
    path = Path(__file__).parents[1] / "zmq" / "zmq_helpers.py"
    spec = importlib.util.spec_from_file_location("tui_zmq_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HELPERS = _helpers()
StoreService = HELPERS.StoreService


@pytest.fixture
def endpoints(tmp_path: Path) -> BridgeConfig:
    return BridgeConfig(
        router=f"ipc://{tmp_path}/req", pub=f"ipc://{tmp_path}/pub", heartbeat_s=0.1
    )


@pytest.fixture
def store_service(tmp_path: Path) -> Iterator[object]:
    store = JobStore(tmp_path / "jobs.sqlite3")
    yield StoreService(store)
    store.close()


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
