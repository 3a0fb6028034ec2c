"""Tiles: wrap-around seam score per axis, make seamless, tiled preview."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.tiles import make_seamless, seam_score, tile_preview


def _ramp(width: int = 8, height: int = 6) -> np.ndarray:
    image = np.zeros((height, width, 4), dtype=np.uint8)
    image[..., 0] = (np.arange(width) * (255 // (width - 1)))[None, :]
    image[..., 3] = 255
    return image


def test_a_checkerboard_tiles_perfectly_on_both_axes() -> None:
    board = np.zeros((4, 4, 4), dtype=np.uint8)
    board[..., 3] = 255
    board[(np.indices((4, 4)).sum(axis=0) % 2) == 1, :3] = 255
    assert seam_score(board) == (0.0, 0.0)


def test_a_horizontal_ramp_has_a_horizontal_seam_only() -> None:
    horizontal, vertical = seam_score(_ramp())
    assert horizontal > 0.3
    assert vertical == 0.0
    assert seam_score(_ramp().transpose(1, 0, 2)) == (vertical, horizontal)


def test_transparent_pixels_count_as_no_colour_whatever_their_rgb() -> None:
    image = np.zeros((2, 4, 4), dtype=np.uint8)
    image[:, 1:3] = (255, 255, 255, 255)
    image[:, 0] = (255, 0, 0, 0)  # invisible junk RGB on the seam
    assert seam_score(image)[0] == 0.0


def test_make_seamless_removes_most_of_the_seam_and_keeps_the_colours() -> None:
    ramp = _ramp()
    before = seam_score(ramp)[0]
    result = make_seamless(ramp)
    assert seam_score(result)[0] < before / 4
    own = {tuple(c) for c in ramp.reshape(-1, 4).tolist()}
    assert {tuple(c) for c in result.reshape(-1, 4).tolist()} <= own


def test_make_seamless_keeps_hard_alpha_hard() -> None:
    image = _ramp()
    image[:, :2, 3] = 0
    image[image[..., 3] == 0] = 0
    alphas = set(np.unique(make_seamless(image)[..., 3]).tolist())
    assert alphas <= {0, 255}


def test_a_seamless_tile_stays_seamless() -> None:
    board = np.zeros((4, 4, 4), dtype=np.uint8)
    board[..., 3] = 255
    board[(np.indices((4, 4)).sum(axis=0) % 2) == 1, :3] = 255
    assert seam_score(make_seamless(board)) == (0.0, 0.0)


def test_tile_preview_repeats_the_tile_n_by_n() -> None:
    tile = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    preview = tile_preview(tile)
    assert preview.shape == (6, 9, 4)
    np.testing.assert_array_equal(preview[2:4, 6:9], tile)


@pytest.mark.parametrize("n", [0, 9])
def test_tile_preview_count_out_of_range_is_refused(n: int) -> None:
    with pytest.raises(InvalidParameterError, match=f"n={n} is out of range"):
        tile_preview(np.zeros((2, 2, 4), dtype=np.uint8), n)
