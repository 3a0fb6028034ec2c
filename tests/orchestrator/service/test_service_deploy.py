"""`Service.deploy`: the one deploy use case (MCP's deploy_asset is a thin call of it),
against a real Bevy project folder, a real job store and real files."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.composition import build_service
from orchestrator.deploy import UnknownProjectError
from orchestrator.errors import InvalidRequest, JobStateError
from orchestrator.jobs.store import NewJob
from orchestrator.service import PixelizeRequest, Service
from orchestrator.settings import Settings


def _picture() -> bytes:
    cells = np.random.default_rng(3).integers(0, 4, size=(8, 8)) * 60
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 2], rgba[..., 3] = cells, 255 - cells, 255
    buffer = io.BytesIO()
    Image.fromarray(np.repeat(np.repeat(rgba, 8, 0), 8, 1), "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def game(tmp_path: Path) -> Path:
    root = tmp_path / "game"
    (root / "assets").mkdir(parents=True)
    (root / "Cargo.toml").write_text('[package]\nname = "game"\nversion = "0.1.0"\n')
    return root


@pytest.fixture
def service(make_settings: Callable[..., Settings], game: Path) -> Iterator[Service]:
    service = build_service(make_settings([], bevy_projects=[game]), backends=False)
    yield service
    service.stop()


def test_a_pixelized_file_is_deployed_into_assets(service: Service, game: Path) -> None:
    sprite = service.pixelize_file(_picture(), PixelizeRequest(size="8x8")).files.sprite
    result = service.deploy("game", "items/gem", path=sprite)
    deployed = game / "assets" / "items" / "gem.png"
    assert deployed.read_bytes() == Path(sprite).read_bytes()
    assert result.sprite_path == deployed
    assert [p.name for p in service.deployer.projects()] == ["game"]


def test_a_dry_run_writes_nothing(service: Service, game: Path) -> None:
    sprite = service.pixelize_file(_picture(), PixelizeRequest(size="8x8")).files.sprite
    service.deploy("game", "gem", path=sprite, dry_run=True)
    assert list((game / "assets").iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "job_id/path"),
        ({"job_id": "abcd", "path": "x.png"}, "job_id/path"),
        ({"path": "/etc/hostname"}, "path"),
    ],
)
def test_a_bad_source_is_refused_naming_it_and_nothing_is_written(
    service: Service, game: Path, kwargs: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        service.deploy("game", "gem", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert list((game / "assets").iterdir()) == []


def test_a_job_that_has_not_succeeded_is_refused(service: Service, game: Path) -> None:
    (job,) = service.store.create([NewJob("single_sprite", {"prompt": "a gem"}, 1, None)])
    with pytest.raises(JobStateError, match="only a succeeded job"):
        service.deploy("game", "gem", job_id=job.id)
    assert service.get_job(job.id).state == job.state  # the stored job is untouched
    assert list((game / "assets").iterdir()) == []


def test_an_unknown_project_is_refused(service: Service) -> None:
    sprite = service.pixelize_file(_picture(), PixelizeRequest(size="8x8")).files.sprite
    with pytest.raises(UnknownProjectError, match="elsewhere"):
        service.deploy("elsewhere", "gem", path=sprite)
