"""`Service.pixelize_file`: a picture becomes a sprite, preview and sidecar with no backend."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comfy_nodes.pixel.pipeline import PixelizeOptions
from orchestrator.service import Service
from orchestrator.settings import Settings


def _blocky_png() -> bytes:
    """An 8x8 sprite drawn at 8x (64x64), the shape SDXL's pseudo pixel art has."""
    rng = np.random.default_rng(1)
    sprite = rng.integers(0, 4, size=(8, 8)) * 80
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = sprite
    rgba[..., 1] = 255 - sprite
    rgba[..., 3] = 255
    big = np.repeat(np.repeat(rgba, 8, axis=0), 8, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(big, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def service(make_settings: Callable[..., Settings]) -> Iterator[Service]:
    service = Service.from_settings(make_settings([]), backends=False)  # no backend at all
    yield service
    service.stop()


def test_pixelize_file_writes_sprite_preview_and_report(service: Service, tmp_path: Path) -> None:
    source = tmp_path / "hero.png"
    source.write_bytes(_blocky_png())
    options = PixelizeOptions(size=(8, 8), remove_background="none")
    outcome = service.pixelize_file(source, options)
    assert outcome.size == (8, 8)
    with Image.open(outcome.files.sprite) as sprite:
        assert sprite.size == (8, 8)
    assert outcome.files.preview and Path(outcome.files.preview).is_file()
    sidecar = json.loads(Path(outcome.files.sidecar).read_text())
    assert sidecar["source"] == "hero" and sidecar["qa_report"] == dict(outcome.report)
    again = service.pixelize_file(source.read_bytes(), options)  # bytes work too
    assert Path(again.files.sprite).is_file()


def test_pixelize_file_refuses_a_non_image(service: Service) -> None:
    with pytest.raises(ValueError, match="image"):
        service.pixelize_file(b"not a picture", PixelizeOptions())
