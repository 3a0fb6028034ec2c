"""One grid for a sheet's frames: the odd frame is named and does not pull the grid off."""

from __future__ import annotations

import numpy as np
from pixel_grid_helpers import sprite
from scipy import ndimage

from comfy_nodes.pixel.frame_grids import shared_grid


def _art(cells: int, scale: int, seed: int) -> np.ndarray:
    return np.repeat(np.repeat(sprite(cells, cells, seed=seed), scale, 0), scale, 1)


def test_frames_of_one_scale_share_their_grid_with_no_problem() -> None:
    result = shared_grid([_art(16, 8, seed) for seed in range(3)])

    assert result.grid.cell_w == 8.0 and (result.grid.cols, result.grid.rows) == (16, 16)
    assert result.problems == ()


def test_a_frame_at_another_pixel_scale_is_named_and_left_out_of_the_grid() -> None:
    frames = [_art(16, 8, 0), _art(16, 8, 1), _art(32, 4, 9), _art(16, 8, 2)]

    result = shared_grid(frames)

    assert result.grid.cell_w == 8.0  # not the odd frame's 4 px
    (problem,) = result.problems
    assert problem.index == 2
    assert problem.reason == "its pixels are 4.0 px wide, the other frames' 8.0 px"


def test_a_frame_of_noise_has_no_grid_of_the_sheet() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (128, 128, 4), dtype=np.uint8)
    noise[..., 3] = 255

    result = shared_grid([_art(16, 8, 0), noise, _art(16, 8, 1)])

    assert [p.index for p in result.problems] == [1] and result.grid.cell_w == 8.0


def _blur(seed: int) -> np.ndarray:
    """A 640² smooth picture: no lattice (its detected grid has confidence below 0.5)."""
    noise = np.random.default_rng(seed).integers(0, 256, (640, 640, 3)).astype(float)
    smooth = ndimage.gaussian_filter(noise, (3, 3, 0))
    rgb = np.clip((smooth - smooth.mean()) * 4 + 128, 0, 255).astype(np.uint8)
    return np.dstack([rgb, np.full((640, 640), 255, np.uint8)])


def test_when_most_frames_have_no_clear_grid_none_is_singled_out() -> None:
    frames = [_blur(1), _blur(2), _art(80, 8, 0)]

    result = shared_grid(frames)

    assert result.problems == ()  # the QA report's "low grid confidence" covers it


def test_the_one_frame_without_a_clear_grid_is_named() -> None:
    frames = [_art(80, 8, 0), _blur(1), _art(80, 8, 1)]

    result = shared_grid(frames)

    (problem,) = result.problems
    assert problem.index == 1 and problem.reason.startswith("no clear pixel grid of its own")
