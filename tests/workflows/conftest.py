"""Fixtures of the template tests: the shipped library and a real engine to check it against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.comfy import ComfyClient
from orchestrator.workflows import TemplateLibrary, default_templates_dir


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary(default_templates_dir())


@pytest.fixture(scope="module")
def engine_client(
    engine_models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComfyClient]:
    """The embedded engine's real HTTP API on a free port (one per test module)."""
    from engine.runner import EngineConfig, start_engine

    config = EngineConfig(
        base_dir=tmp_path_factory.mktemp("templates_engine"), models_dir=engine_models_dir, port=0
    )
    with start_engine(config) as running, ComfyClient(running.url, timeout=60) as client:
        yield client
