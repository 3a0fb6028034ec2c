"""Engine test fixtures: a real engine server on an ephemeral port over a tmp base folder.

`running_engine` serves the core nodes, our `comfy_nodes` pack and the test node packs in
`node_packs/` (a real custom-node folder: solid images, a slow interruptible node, ...),
with the tiny SDXL models of `engine_models_dir`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_client import WsClient

from engine.runner import EngineConfig, RunningEngine, start_engine

NODE_PACKS = Path(__file__).parent / "node_packs"


@pytest.fixture
def engine_config(tmp_path: Path, engine_models_dir: Path) -> EngineConfig:
    """Config of a CPU engine on a free port with the test node packs loaded."""
    return EngineConfig(
        base_dir=tmp_path / "engine",
        models_dir=engine_models_dir,
        port=0,
        custom_node_dirs=(NODE_PACKS,),
        device="cpu",
    )


@pytest.fixture
def running_engine(engine_config: EngineConfig) -> Iterator[RunningEngine]:
    """A real engine server (HTTP + WS) for one test."""
    with start_engine(engine_config) as engine:
        yield engine


@pytest.fixture
def ws_factory(running_engine: RunningEngine) -> Iterator[Callable[..., WsClient]]:
    """Open `/ws` clients on the running engine; all are closed after the test."""
    clients: list[WsClient] = []

    def connect(**kwargs: Any) -> WsClient:
        client = WsClient(running_engine.url, **kwargs)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def ws(ws_factory: Callable[..., WsClient]) -> WsClient:
    """One `/ws` client on the running engine."""
    return ws_factory()
