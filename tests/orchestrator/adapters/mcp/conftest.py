"""Fixtures for the MCP server tests: one real Service over the embedded engine with the
tiny model (started once per session, the same composition the CLI uses), a fresh Bevy
project and server per test, and a finished job to deploy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.mcp import build_mcp_server
from orchestrator.composition import build_service
from orchestrator.jobs.states import JobState
from orchestrator.service import Service
from orchestrator.service.values import GenerationRequest
from orchestrator.settings import Settings


@pytest.fixture(scope="session")
def game_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the Bevy project registered with the session's service lives."""
    return tmp_path_factory.mktemp("bevy") / "game"


@pytest.fixture(scope="session")
def mcp_service(
    tmp_path_factory: pytest.TempPathFactory, engine_models_dir: Path, game_root: Path
) -> Iterator[Service]:
    """A started Service whose in-process engine loads the tiny model; `game_root` is its
    registered Bevy project (deploy is a service use case, so the service's settings name
    the projects)."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("mcp-data"),
        models_dir=engine_models_dir,
        backends=[],
        workers=1,
        bevy_projects=[game_root],
    )
    service = build_service(settings).start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def sprite_job_id(mcp_service: Service) -> str:
    """A job that finished with a sprite (made through the service, shared to save time)."""
    request = GenerationRequest(
        prompt="a red potion",
        seed=11,
        size=(8, 8),
        params={"checkpoint": "tiny_sdxl.safetensors", "steps": 2, "width": 64, "height": 64},
    )
    job = mcp_service.wait(mcp_service.submit(request)[0].id, timeout_s=240)
    assert job.state == JobState.SUCCEEDED, job.error
    return job.id


@pytest.fixture
def bevy_project(game_root: Path) -> Path:
    """The registered Bevy project, fresh for each test: Cargo.toml and an empty assets/."""
    root = game_root
    shutil.rmtree(root, ignore_errors=True)
    (root / "assets").mkdir(parents=True)
    (root / "Cargo.toml").write_text('[package]\nname = "game"\nversion = "0.1.0"\n')
    return root


@pytest.fixture
def mcp_settings(mcp_service: Service, bevy_project: Path) -> Settings:
    assert mcp_service.settings.bevy_projects == [bevy_project]
    return mcp_service.settings


@pytest.fixture
def server(mcp_service: Service, mcp_settings: Settings) -> Any:
    return build_mcp_server(mcp_service, mcp_settings)
