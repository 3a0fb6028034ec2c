"""Automatic palette size: the number of colours comes from the picture."""

from __future__ import annotations

import numpy as np
import pytest
from pixel_grid_helpers import degrade, sprite, upscale

from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.modes import PALETTE_SIZES
from comfy_nodes.pixel.palette_size import auto_palette
from comfy_nodes.pixel.pipeline import PixelizeOptions, options_from_widgets, pixelize


@pytest.mark.parametrize("n", [3, 5, 8])
def test_auto_palette_finds_as_many_colours_as_the_sprite_has(n: int) -> None:
    truth = sprite(24, 24, seed=n, n=n)
    img = degrade(upscale(truth, 9.0, offset=(3.0, 2.0)), seed=n, noise=3.0, jpeg=85)
    result = pixelize(img, PixelizeOptions(remove_background="none"))
    assert result.report.palette_size == n
    assert result.report.colors == n
    assert any(note.startswith(f"palette auto: {n} colours") for note in result.report.notes)


def test_a_single_detail_pixel_keeps_its_own_colour() -> None:
    cells = np.zeros((16, 16, 4), np.uint8)
    cells[...] = (30, 30, 40, 255)
    cells[4:12, 4:12] = (200, 60, 50, 255)
    cells[7, 7] = (250, 240, 90, 255)  # one 1-px highlight, far from both other colours
    assert len(auto_palette([cells]).palette.colors) == 3
    sprite = pixelize(cells, PixelizeOptions(remove_background="none")).sprite
    assert {tuple(int(v) for v in c) for c in sprite[..., :3].reshape(-1, 3)} == {
        (30, 30, 40),
        (200, 60, 50),
        (250, 240, 90),
    }


def test_asking_more_colours_than_present_is_a_qa_warning() -> None:
    truth = sprite(16, 16, seed=4, n=4)
    img = degrade(upscale(truth, 8.0), seed=4)
    result = pixelize(img, PixelizeOptions(n_colors=32, remove_background="none"))
    report = result.report
    assert any("colors=32 is more than the about 4" in w for w in report.warnings)
    assert result.palette is not None  # the warning also says how many were used
    assert any(f"({len(result.palette.colors)} used)" in w for w in report.warnings)
    forced = pixelize(img, PixelizeOptions(n_colors=4, remove_background="none")).report
    assert not any("colors=" in w for w in forced.warnings)


@pytest.mark.parametrize(
    ("value", "expected"), [("auto", None), (None, None), (0, None), (12, 12), ("7", 7)]
)
def test_palette_size_parses_auto_and_numbers(value: object, expected: int | None) -> None:
    assert PALETTE_SIZES.parse(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1, 257, "lots", -3, 2.5, True])
def test_a_bad_palette_size_names_colors_and_the_valid_values(value: object) -> None:
    with pytest.raises(InvalidParameterError, match=r'colors=.*choose "auto" or 2\.\.256'):
        PALETTE_SIZES.parse(value)  # type: ignore[arg-type]


def test_the_node_widget_zero_means_auto() -> None:
    assert options_from_widgets(colors=0).n_colors is None
    assert options_from_widgets(colors=9).n_colors == 9
