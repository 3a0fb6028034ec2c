"""Fixtures for the service tests: real engines on ephemeral ports, services on tmp data dirs.

`orch_engine` is one engine for the session (model loads are cached across tests);
`make_engine` starts extra ones a test may stop; `make_service` builds a `Service` on its
own data directory and stops it at teardown. `real_service` + `real_bridge` are the daemon's
composition (the service with its in-process engine, and the ZeroMQ bridge `serve` starts)
for the ZMQ and TUI tests; `store_service` is the same Service API over a real job store
without any backend (zmq_helpers.StoreService), for their protocol and screen tests.
`tiny_models` is a models folder of the test's own for the training tests (a run writes
its LoRA into it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from zmq_helpers import StoreService

from orchestrator.adapters.zmq.bridge import ZmqBridge, start_bridge
from orchestrator.composition import build_service
from orchestrator.jobs import JobStore
from orchestrator.service import Service
from orchestrator.settings import Settings


def _start(base: Path, models: Path) -> Any:
    from engine.runner import EngineConfig, start_engine

    return start_engine(EngineConfig(base_dir=base, models_dir=models, port=0, device="cpu"))


@pytest.fixture(scope="session")
def orch_engine(engine_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real engine server with the tiny models and our node pack, for the session."""
    engine = _start(tmp_path_factory.mktemp("orch_engine"), engine_models_dir)
    yield engine
    engine.stop()


@pytest.fixture
def tiny_models(tmp_path: Path, tiny_sdxl_checkpoint: Path) -> Path:
    """`tmp_path/models` with `checkpoints/tiny_sdxl.safetensors` (a hard link: no copy)."""
    folder = tmp_path / "models"
    (folder / "checkpoints").mkdir(parents=True)
    os.link(tiny_sdxl_checkpoint, folder / "checkpoints" / "tiny_sdxl.safetensors")
    return folder


@pytest.fixture
def make_engine(
    engine_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Any]]:
    """Start extra engines (stopped at teardown unless the test stopped them)."""
    started: list[Any] = []

    def make() -> Any:
        engine = _start(tmp_path_factory.mktemp("extra_engine"), engine_models_dir)
        started.append(engine)
        return engine

    yield make
    for engine in started:
        engine.stop()


@pytest.fixture
def make_settings(tmp_path: Path, engine_models_dir: Path) -> Callable[..., Settings]:
    def make(backends: list[str], **fields: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "models_dir": engine_models_dir,
            "backends": backends,
            "health_interval_s": 0.5,
            "request_timeout_s": 5.0,
            "job_timeout_s": 120.0,
        }
        values.update(fields)
        return Settings(**values)

    return make


@pytest.fixture
def make_service(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Service]]:
    """`make_service([url, ...], workers=2, start=True, **settings)` -> a Service."""
    services: list[Service] = []

    def make(
        backends: list[str], *, workers: int = 2, start: bool = True, **fields: Any
    ) -> Service:
        service = build_service(make_settings(backends, **fields), workers=workers)
        services.append(service)
        return service.start() if start else service

    yield make
    for service in services:
        service.stop()


@pytest.fixture
def bridge_settings(tmp_path: Path, engine_models_dir: Path) -> Settings:
    """Settings of a daemon on a tmp data dir: tiny models, private ipc:// ZMQ endpoints."""
    return Settings(
        data_dir=tmp_path / "data",
        models_dir=engine_models_dir,
        zmq_router=f"ipc://{tmp_path}/sock/req",
        zmq_pub=f"ipc://{tmp_path}/sock/pub",
    )


@pytest.fixture
def real_service(bridge_settings: Settings) -> Iterator[Service]:
    """The real service, workers not started: jobs stay queued unless a test starts them."""
    service = build_service(bridge_settings, workers=1)
    yield service
    service.stop()


@pytest.fixture
def real_bridge(real_service: Service, bridge_settings: Settings) -> Iterator[ZmqBridge]:
    """The ZeroMQ bridge over `real_service`, started as `dgx-pixels serve` starts it."""
    bridge = start_bridge(real_service, bridge_settings)
    yield bridge
    bridge.stop()


@pytest.fixture
def store_service(tmp_path: Path) -> Iterator[StoreService]:
    """The Service API over a real job store and event hub, no backend: tests drive jobs."""
    store = JobStore(tmp_path / "jobs.sqlite3")
    yield StoreService(store)
    store.close()
