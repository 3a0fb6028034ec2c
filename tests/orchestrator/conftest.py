"""Fixtures for the service tests: real engines on ephemeral ports, services on tmp data dirs.

`orch_engine` is one engine for the session (model loads are cached across tests);
`make_engine` starts extra ones a test may stop; `make_service` builds a `Service` on its
own data directory and stops it at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

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
        service = Service.from_settings(make_settings(backends, **fields), workers=workers)
        services.append(service)
        return service.start() if start else service

    yield make
    for service in services:
        service.stop()
