"""Downscale onto a grid: exact recovery under blur/noise/strays, modes, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pixel_grid_helpers import COLORS, degrade, sprite, upscale

from comfy_nodes.pixel.downscale import DOWNSCALE_MODES, downscale_to_grid, sample_cells
from comfy_nodes.pixel.errors import GridDoesNotFitError, InvalidParameterError
from comfy_nodes.pixel.grid import GridEstimate, detect_grid, grid_from_size


def _snap(rgba: np.ndarray) -> np.ndarray:
    """Each cell's colour snapped to the nearest test colour (what a locked palette does)."""
    d = np.abs(rgba[..., None, :3].astype(int) - COLORS[None, None].astype(int)).sum(-1)
    return COLORS[d.argmin(-1)]


def test_blurred_noisy_sprite_at_7_5x_offset_3_is_recovered_exactly() -> None:
    truth = sprite(8, 8, seed=11)
    img = degrade(upscale(truth, 7.5, offset=(3.0, 3.0)), seed=11, blur=1.0, noise=4.0)
    cells = downscale_to_grid(img, detect_grid(img))
    assert cells.shape == (8, 8, 4)
    np.testing.assert_array_equal(_snap(cells), truth[..., :3])
    # Close before snapping too: within noise of the true colours.
    assert np.abs(cells[..., :3].astype(int) - truth[..., :3]).max() <= 20


def test_stray_pixels_inside_cells_do_not_change_the_colour() -> None:
    truth = sprite(6, 6, seed=12)
    img = upscale(truth, 10.0)[..., :3].copy()
    rng = np.random.default_rng(12)
    for _ in range(40):  # lone bright pixels anywhere
        y, x = rng.integers(0, 60, 2)
        img[y, x] = (255, 0, 255)
    cells = downscale_to_grid(img, grid_from_size(60, 60, 6, 6))
    np.testing.assert_array_equal(cells[..., :3], truth[..., :3])


@pytest.mark.parametrize("mode", DOWNSCALE_MODES)
def test_every_mode_is_exact_on_a_clean_nearest_upscale(mode: str) -> None:
    truth = sprite(5, 4, seed=13)
    img = upscale(truth, 6.0)
    np.testing.assert_array_equal(downscale_to_grid(img, grid_from_size(30, 24, 5, 4), mode), truth)


def test_alpha_is_read_per_cell() -> None:
    truth = sprite(4, 4, seed=14)
    truth[0, 0, 3] = 0
    cells = downscale_to_grid(upscale(truth, 5.0), grid_from_size(20, 20, 4, 4))
    assert cells[0, 0, 3] == 0 and cells[1, 1, 3] == 255


def test_rgb_input_gets_opaque_alpha() -> None:
    cells = downscale_to_grid(np.zeros((8, 8, 3), np.uint8), grid_from_size(8, 8, 2, 2))
    assert cells.shape == (2, 2, 4) and (cells[..., 3] == 255).all()


def test_unknown_mode_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterError, match="robust, median, mean, center"):
        downscale_to_grid(np.zeros((8, 8, 3), np.uint8), grid_from_size(8, 8, 2, 2), "bicubic")


def test_a_grid_with_more_cells_than_pixels_does_not_fit() -> None:
    grid = GridEstimate(0.5, 0.5, 0.0, 0.0, 16, 16, 1.0)
    with pytest.raises(GridDoesNotFitError, match="16x16 cells do not fit a 8x8 image"):
        downscale_to_grid(np.zeros((8, 8, 3), np.uint8), grid)


def _robust_one_cell(samples: np.ndarray) -> np.ndarray:
    """The robust colour of one cell, written out plainly (the reference the vectorised
    version must match bit for bit)."""
    mu = samples.mean(axis=0)
    keep = np.ones(samples.shape[0], dtype=np.float32)
    for factor in (1.5, 2.0):
        d = np.abs(samples - mu).sum(axis=1)
        spread = (d * keep).sum() / max(keep.sum(), np.float32(1.0))
        keep = (d <= max(factor * spread, 24.0)).astype(np.float32)
        mu = (samples * keep[:, None]).sum(axis=0) / max(keep.sum(), np.float32(1.0))
    return mu


def test_robust_mode_equals_the_per_cell_reference_bit_for_bit() -> None:
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    image[::2] //= 3  # two colour populations per cell, so trimming has work to do
    grid = grid_from_size(50, 40, 10, 8)
    cells = downscale_to_grid(image, grid, "robust")
    samples = sample_cells(image, grid)[..., :3].astype(np.float32)
    for r in range(8):
        for c in range(10):
            expect = np.clip(np.rint(_robust_one_cell(samples[r, c])), 0, 255)
            np.testing.assert_array_equal(cells[r, c, :3], expect.astype(np.uint8))
