"""Dithering onto a palette: exact patterns on tiny images, hand-derived."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.color import srgb_to_linear, srgb_to_oklab
from comfy_nodes.pixel.dither import bayer_matrix, dither_to_palette, nearest_palette_index
from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.palette import Palette

BLACK_WHITE = Palette("bw", np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8))


def _grey(level: int, height: int, width: int) -> np.ndarray:
    image = np.full((height, width, 4), level, dtype=np.uint8)
    image[..., 3] = 255
    return image


def _white(image: np.ndarray) -> list[list[int]]:
    whites: list[list[int]] = (image[..., 0] == 255).astype(int).tolist()
    return whites


def test_floyd_steinberg_in_linear_light_matches_the_hand_computed_row() -> None:
    # sRGB 149 is 0.30 linear: errors 0.30 -> 0.43 -> 0.49 -> 0.51 push the 4th pixel to white.
    result = dither_to_palette(_grey(149, 1, 4), BLACK_WHITE, "floyd-steinberg", space="linear")
    assert _white(result) == [[0, 0, 0, 1]]


def test_floyd_steinberg_in_oklab_matches_the_hand_computed_row() -> None:
    # OKLab L of sRGB 149 is 0.67: white (err -0.33) -> 0.53 white -> 0.46 black -> 0.87 white.
    result = dither_to_palette(_grey(149, 1, 4), BLACK_WHITE, "floyd-steinberg", space="oklab")
    assert _white(result) == [[1, 1, 0, 1]]


def test_floyd_steinberg_keeps_the_mean_light_of_a_gradient() -> None:
    gradient = np.zeros((4, 4, 4), dtype=np.uint8)
    gradient[..., :3] = np.array([0, 85, 170, 255], dtype=np.uint8)[None, :, None]
    gradient[..., 3] = 255
    result = dither_to_palette(gradient, BLACK_WHITE, "floyd-steinberg", space="linear")
    expected_whites = srgb_to_linear(gradient[..., 0]).sum()
    assert abs(int(result[..., 0].astype(bool).sum()) - expected_whites) <= 1.0
    # Worked by hand: linear levels 0, 0.091, 0.402, 1.0 per row; the error of row 0's third
    # pixel (0.44 -> black) tips row 1's third pixel (0.58 + 0.09) to white, and so on.
    assert _white(result) == [[0, 0, 0, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 1, 1]]


def test_bayer_matrix_is_the_standard_index_matrix() -> None:
    assert bayer_matrix(2).tolist() == [[0, 2], [3, 1]]
    assert bayer_matrix(4).tolist() == [
        [0, 8, 2, 10],
        [12, 4, 14, 6],
        [3, 11, 1, 9],
        [15, 7, 13, 5],
    ]


def test_bayer_2_turns_half_grey_into_a_checkerboard() -> None:
    # sRGB 188 is 0.503 linear: just above the 2x2 matrix's middle thresholds.
    result = dither_to_palette(_grey(188, 4, 4), BLACK_WHITE, "bayer-2", space="linear")
    assert _white(result) == [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]


@pytest.mark.parametrize(("mode", "size"), [("bayer-4", 4), ("bayer-8", 8)])
def test_larger_bayer_matrices_light_exactly_half_of_a_half_grey_tile(mode: str, size: int) -> None:
    result = dither_to_palette(_grey(188, size, size), BLACK_WHITE, mode, space="linear")
    assert int(result[..., 0].astype(bool).sum()) == size * size // 2


def test_none_maps_to_the_nearest_colour_only() -> None:
    result = dither_to_palette(_grey(149, 2, 2), BLACK_WHITE, "none", space="oklab")
    assert _white(result) == [[1, 1], [1, 1]]


def test_transparent_pixels_stay_zero_and_pass_no_error() -> None:
    image = _grey(149, 1, 4)
    image[0, 1] = (255, 255, 255, 0)
    result = dither_to_palette(image, BLACK_WHITE, "floyd-steinberg", space="linear")
    # The hole is skipped, so the error from pixel 0 jumps nowhere: 0.30 -> black, 0.30 -> black
    # with nothing added, then 0.43 -> black.
    assert result[0, 1].tolist() == [0, 0, 0, 0]
    assert _white(result) == [[0, 0, 0, 0]]


def test_dither_mode_names_forgive_case_and_underscores() -> None:
    result = dither_to_palette(_grey(188, 2, 2), BLACK_WHITE, "Bayer_2", space="linear")
    assert _white(result) == [[0, 1], [1, 0]]


def test_unknown_dither_mode_lists_valid_modes() -> None:
    with pytest.raises(InvalidParameterError, match=r"dither=.atkinson.*floyd-steinberg, bayer-2"):
        dither_to_palette(_grey(0, 1, 1), BLACK_WHITE, "atkinson")


def test_unknown_space_lists_valid_spaces() -> None:
    with pytest.raises(InvalidParameterError, match=r"space=.hsv.*oklab, linear"):
        dither_to_palette(_grey(0, 1, 1), BLACK_WHITE, "none", space="hsv")  # type: ignore[arg-type]


def _scanline_floyd_steinberg(rgba: np.ndarray, palette: Palette) -> np.ndarray:
    """The textbook scanline loop in OKLab, one pixel at a time (the wavefront version must
    give exactly this): transparent pixels neither receive nor pass on error."""
    work = srgb_to_oklab(rgba[..., :3]).astype(np.float64)
    targets = srgb_to_oklab(palette.colors).astype(np.float64)
    opaque = rgba[..., 3] > 0
    height, width = opaque.shape
    out = np.zeros_like(rgba)
    for y in range(height):
        for x in range(width):
            if not opaque[y, x]:
                continue
            value = work[y, x].copy()
            distance = [float(((value - t) ** 2).sum()) for t in targets]
            chosen = int(np.argmin(distance))
            out[y, x, :3], out[y, x, 3] = palette.colors[chosen], rgba[y, x, 3]
            error = value - targets[chosen]
            for dx, dy, weight in ((1, 0, 7 / 16), (-1, 1, 3 / 16), (0, 1, 5 / 16), (1, 1, 1 / 16)):
                nx, ny = x + dx, y + dy
                if 0 <= nx < width and ny < height and opaque[ny, nx]:
                    work[ny, nx] += error * weight
    return out


@pytest.mark.parametrize(
    ("height", "width", "seed"), [(12, 16, 0), (1, 9, 1), (9, 1, 2), (7, 5, 3)]
)
def test_floyd_steinberg_is_exactly_the_scanline_loop(height: int, width: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, size=(height, width, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(rng.random((height, width)) < 0.2, 0, 255)
    palette = Palette("p", rng.integers(0, 256, size=(6, 3), dtype=np.uint8))
    np.testing.assert_array_equal(
        dither_to_palette(rgba, palette, "floyd-steinberg"),
        _scanline_floyd_steinberg(rgba, palette),
    )


def test_nearest_index_is_the_same_whatever_the_chunking() -> None:
    rng = np.random.default_rng(5)
    points = rng.normal(0.5, 0.3, size=(5000, 3))  # several score chunks
    targets = rng.normal(0.5, 0.3, size=(16, 3))
    whole = np.argmin((targets**2).sum(axis=1)[None, :] - 2.0 * (points @ targets.T), axis=1)
    np.testing.assert_array_equal(nearest_palette_index(points, targets), whole)
    np.testing.assert_array_equal(nearest_palette_index(points[:1], targets), whole[:1])
