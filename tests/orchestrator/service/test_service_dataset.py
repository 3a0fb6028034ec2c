"""`Service.prepare_dataset`: the use case behind `train dataset`; training's refusals come
back as the service's own `InvalidRequest`, naming the same field and value."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from orchestrator.composition import build_service
from orchestrator.errors import InvalidRequest
from orchestrator.service import Service
from orchestrator.settings import Settings


@pytest.fixture
def service(make_settings: Callable[..., Settings]) -> Iterator[Service]:
    service = build_service(make_settings([]), backends=False)  # no backend is needed
    yield service
    service.stop()


def _sprites(src: Path, count: int) -> Path:
    src.mkdir()
    for i in range(count):
        cells = np.random.default_rng(i).integers(0, 2, size=(10, 10)) * 200
        rgb = np.stack([cells, cells, cells.T], axis=-1).astype(np.uint8)
        big = np.repeat(np.repeat(rgb, 3, 0), 3, 1)
        Image.fromarray(big).save(src / f"s{i}.webp", lossless=True)
    return src


def test_prepares_webp_sprites_with_masks(service: Service, tmp_path: Path) -> None:
    src = _sprites(tmp_path / "src", 5)
    result = service.prepare_dataset(src, tmp_path / "ds", "pxl", alpha="mask")
    assert [i.name for i in result.images] == [f"s{i}.png" for i in range(5)]
    assert {i.sprite_size for i in result.images} == {(10, 10)}
    assert sorted(p.name for p in (tmp_path / "ds" / "masks").iterdir()) == [
        f"s{i}.png" for i in range(5)
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_images": 10}, "SRC"),
        ({"key_color": "#12"}, "key_color"),
        ({"captions_csv": Path("/no/such.csv")}, "captions"),
    ],
)
def test_refusals_become_invalid_requests_naming_the_field(
    service: Service, tmp_path: Path, kwargs: dict[str, object], field: str
) -> None:
    src = _sprites(tmp_path / "src", 5)
    with pytest.raises(InvalidRequest) as caught:
        service.prepare_dataset(src, tmp_path / "ds", "pxl", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert not (tmp_path / "ds").exists()
