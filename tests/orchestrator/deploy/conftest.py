"""Fixtures for deploy tests: a real Bevy-shaped project in tmp_path and real PNGs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_testkit import make_bevy_project, png_bytes

from orchestrator.deploy import Deployer, ProjectRegistry


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_bevy_project(tmp_path / "game")


@pytest.fixture
def deployer(project: Path) -> Deployer:
    return Deployer(ProjectRegistry([project]))


@pytest.fixture
def make_png(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(size: tuple[int, int] = (4, 4), color: tuple[int, ...] = (255, 0, 0, 255)) -> Path:
        path = tmp_path / "job" / f"sprite_{next(counter)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(size, color))
        return path

    return make


@pytest.fixture
def atlas_file(tmp_path: Path) -> Path:
    path = tmp_path / "job" / "sheet.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atlas = {
        "frames": {"walk 0": {"frame": {"x": 0, "y": 0, "w": 2, "h": 2}, "duration": 100}},
        "meta": {"image": "sheet_00001_.png", "size": {"w": 4, "h": 2}},
    }
    path.write_text(json.dumps(atlas))
    return path
