"""Nearest-neighbour integer upscaling."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.upscale import upscale_nearest


def test_each_pixel_becomes_a_factor_squared_block() -> None:
    sprite = np.array([[[1, 2, 3, 255], [4, 5, 6, 0]]], dtype=np.uint8)
    big = upscale_nearest(sprite, 3)
    assert big.shape == (3, 6, 4)
    assert (big[:, :3] == [1, 2, 3, 255]).all() and (big[:, 3:] == [4, 5, 6, 0]).all()


def test_factor_one_is_an_identical_copy() -> None:
    sprite = np.random.default_rng(0).integers(0, 256, size=(3, 2, 4), dtype=np.uint8)
    np.testing.assert_array_equal(upscale_nearest(sprite, 1), sprite)


@pytest.mark.parametrize("factor", [0, -2, 65])
def test_factor_out_of_range_is_refused_naming_it(factor: int) -> None:
    with pytest.raises(InvalidParameterError, match=f"factor={factor} is out of range"):
        upscale_nearest(np.zeros((2, 2, 4), dtype=np.uint8), factor)


def test_result_over_8192_pixels_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="limit is 8192"):
        upscale_nearest(np.zeros((200, 1, 4), dtype=np.uint8), 64)
