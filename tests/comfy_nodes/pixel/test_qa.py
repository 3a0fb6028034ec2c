"""QA report: pixel-perfect, conformance, colours, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidImageError
from comfy_nodes.pixel.grid import grid_from_size
from comfy_nodes.pixel.palette import Palette
from comfy_nodes.pixel.qa import is_pixel_perfect, palette_conformance, qa_report

PAL = Palette(name="two", colors=np.array([[0, 0, 0], [255, 255, 255]], np.uint8))


def _sprite() -> np.ndarray:
    img = np.zeros((4, 4, 4), np.uint8)
    img[..., 3] = 255
    img[:2, :, :3] = 255
    img[3, 3] = 0
    return img


def test_report_counts_colours_conformance_and_transparency() -> None:
    report = qa_report(_sprite(), grid=grid_from_size(4, 4, 4, 4), palette=PAL)
    assert report.pixel_perfect
    assert (report.width, report.height, report.colors) == (4, 4, 2)
    assert report.palette_conformance == 1.0
    assert report.transparent_fraction == pytest.approx(1 / 16)
    assert report.warnings == ()


def test_off_palette_pixels_lower_conformance_and_warn() -> None:
    img = _sprite()
    img[2, 0, :3] = (10, 200, 30)
    report = qa_report(img, palette=PAL)
    assert palette_conformance(img, PAL) == pytest.approx(14 / 15)
    assert report.palette_conformance < 1.0
    assert any("outside the palette" in w for w in report.warnings)


def test_soft_alpha_is_not_pixel_perfect() -> None:
    img = _sprite()
    img[0, 0, 3] = 128
    assert not qa_report(img).pixel_perfect


def test_pixel_perfect_checks_every_cell_of_an_upscaled_image() -> None:
    big = np.repeat(np.repeat(_sprite(), 3, axis=0), 3, axis=1)
    grid = grid_from_size(12, 12, 4, 4)
    assert is_pixel_perfect(big, grid)
    big[1, 1, 0] = 7
    assert not is_pixel_perfect(big, grid)


def test_low_confidence_grid_warns_with_what_to_do() -> None:
    grid = grid_from_size(4, 4, 4, 4)
    low = type(grid)(**{**grid.__dict__, "confidence": 0.2})
    assert any("sprite_size" in w for w in qa_report(_sprite(), grid=low).warnings)


def test_to_dict_round_trips_through_json() -> None:
    d = qa_report(_sprite(), palette=PAL, seam_score=(0.1, 0.2)).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["type"] == "qa_report" and d["seam_score"] == [0.1, 0.2]


def test_non_rgba_is_refused() -> None:
    with pytest.raises(InvalidImageError, match="sprite"):
        qa_report(np.zeros((4, 4, 3), np.uint8))
