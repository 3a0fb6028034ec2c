"""Half-cell renderer: exact segments for tiny images, checkerboard and scaling included."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from rich.style import Style

from orchestrator.adapters.tui.halfcell import (
    HALF_BLOCK,
    HalfCellImage,
    composite_on_checker,
    fit_size,
    scale_nearest,
)


def _tiny() -> np.ndarray:
    """2 wide x 4 tall: opaque, fully transparent and half-transparent pixels."""
    return np.array(
        [
            [[255, 0, 0, 255], [0, 0, 0, 0]],
            [[0, 255, 0, 255], [0, 0, 255, 128]],
            [[0, 0, 0, 0], [0, 0, 0, 0]],
            [[255, 255, 255, 255], [0, 0, 0, 255]],
        ],
        dtype=np.uint8,
    )


def _seg(fg: tuple[int, int, int], bg: tuple[int, int, int] | None) -> Segment:
    return Segment(
        HALF_BLOCK,
        Style(color=Color.from_rgb(*fg), bgcolor=Color.from_rgb(*bg) if bg else None),
    )


def test_tiny_image_renders_exact_segments_with_checkerboard_behind_transparency() -> None:
    lines = HalfCellImage(_tiny()).lines(cols=2, rows=2)

    assert lines == [
        # red over green | dark checker (x+y odd) over blue at alpha 128 on light checker
        [_seg((255, 0, 0), (0, 255, 0)), _seg((153, 153, 153), (102, 102, 230))],
        # light checker over white | dark checker over black
        [_seg((204, 204, 204), (255, 255, 255)), _seg((153, 153, 153), (0, 0, 0))],
    ]


def test_tiny_image_renders_exact_truecolor_ansi_string() -> None:
    console = Console(color_system="truecolor", width=10, height=2, record=True, file=None)
    with console.capture() as capture:
        console.print(HalfCellImage(_tiny(), max_cols=2, max_rows=2))

    assert capture.get() == (
        "\x1b[38;2;255;0;0;48;2;0;255;0m▀\x1b[0m"
        "\x1b[38;2;153;153;153;48;2;102;102;230m▀\x1b[0m\n"
        "\x1b[38;2;204;204;204;48;2;255;255;255m▀\x1b[0m"
        "\x1b[38;2;153;153;153;48;2;0;0;0m▀\x1b[0m\n"
    )


def test_enlarging_uses_the_largest_integer_factor_so_pixels_stay_square() -> None:
    assert fit_size(2, 4, max_cols=7, max_rows=5) == (4, 8)
    lines = HalfCellImage(_tiny()).lines(cols=7, rows=5)
    assert len(lines) == 4
    # each source pixel became 2x2: the first row is two red-over-red cells then checker
    assert lines[0][0] == Segment(
        HALF_BLOCK * 2, Style(color=Color.from_rgb(255, 0, 0), bgcolor=Color.from_rgb(255, 0, 0))
    )


def test_shrinking_keeps_aspect_and_samples_pixel_centres() -> None:
    image = np.zeros((8, 8, 4), dtype=np.uint8)
    image[..., 3] = 255
    image[1::2, 1::2, 0] = 255  # red where both coordinates are odd
    assert fit_size(8, 8, max_cols=4, max_rows=2) == (4, 4)
    small = scale_nearest(image, 4, 4)
    assert (small[..., 0] == 255).all()  # centres of 2x2 blocks land on odd coordinates


def test_odd_output_height_leaves_last_half_row_without_background() -> None:
    image = np.full((3, 1, 4), 255, dtype=np.uint8)
    lines = HalfCellImage(image).lines(cols=1, rows=2)
    assert lines[-1] == [_seg((255, 255, 255), None)]


def test_checkerboard_alternates_light_and_dark() -> None:
    rgb = composite_on_checker(np.zeros((2, 2, 4), dtype=np.uint8))
    assert rgb[:, :, 0].tolist() == [[204, 153], [153, 204]]


@pytest.mark.parametrize("shape", [(2, 2, 3), (2, 2)])
def test_non_rgba_input_is_rejected_naming_the_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="shape="):
        HalfCellImage(np.zeros(shape, dtype=np.uint8))


def test_zero_sized_box_is_rejected() -> None:
    with pytest.raises(ValueError, match="box=0x3"):
        fit_size(2, 2, 0, 3)
