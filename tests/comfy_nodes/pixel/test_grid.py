"""Grid detection: fractional cells, phase, JPEG blocks, size prior, clean inputs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pixel_grid_helpers import degrade, sprite, upscale

from comfy_nodes.pixel.errors import GridDoesNotFitError, InvalidImageError, InvalidParameterError
from comfy_nodes.pixel.grid import detect_grid, detect_grid_frames, grid_from_size
from comfy_nodes.pixel.grid_edges import edge_profile


def test_fractional_cell_and_offset_are_recovered() -> None:
    img = degrade(upscale(sprite(16, 16, seed=1), 7.5, offset=(3.0, 3.0)), seed=1)
    grid = detect_grid(img)
    assert (grid.cols, grid.rows) == (16, 16)
    assert grid.cell_w == pytest.approx(7.5, abs=0.05)
    assert grid.cell_h == pytest.approx(7.5, abs=0.05)
    assert grid.offset_x == pytest.approx(3.0, abs=0.6)
    assert grid.confidence > 0.7
    assert not grid.already_clean


def test_quarter_pixel_cell_size_is_measured() -> None:
    img = degrade(upscale(sprite(32, 32, seed=2), 15.75, offset=(5.0, 2.0)), seed=2)
    grid = detect_grid(img)
    assert (grid.cols, grid.rows) == (32, 32)
    assert grid.cell_w == pytest.approx(15.75, abs=0.03)


def test_large_cells_are_not_mistaken_for_the_jpeg_block_grid() -> None:
    img = degrade(upscale(sprite(16, 16, seed=3), 44.5, offset=(10.0, 6.0)), seed=3, jpeg=70)
    grid = detect_grid(img)
    assert (grid.cols, grid.rows) == (16, 16)
    assert grid.cell_w == pytest.approx(44.5, abs=0.3)


def test_non_square_sheet_keeps_square_cells() -> None:
    img = degrade(upscale(sprite(48, 12, seed=4), 9.25, offset=(2.0, 4.0)), seed=4)
    grid = detect_grid(img)
    assert (grid.cols, grid.rows) == (48, 12)


def test_true_size_sprite_is_already_clean() -> None:
    spr = sprite(24, 24, seed=5)[..., :3].copy()
    grid = detect_grid(spr)
    assert grid.already_clean
    assert (grid.cols, grid.rows, grid.cell_w) == (24, 24, 1.0)


def test_size_hint_fixes_the_count_and_keeps_the_detected_phase() -> None:
    img = degrade(upscale(sprite(20, 20, seed=6), 10.4, offset=(4.0, 4.0)), seed=6)
    grid = detect_grid(img, size_hint=(20, 20))
    assert (grid.cols, grid.rows) == (20, 20)
    assert grid.cell_w == pytest.approx(10.4, abs=0.1)
    assert grid.offset_x == pytest.approx(4.0, abs=0.8)


def test_size_hint_breaks_a_harmonic_tie() -> None:
    # Pairs of equal columns make a 2-cell period as plausible as the 1-cell one.
    spr = np.repeat(np.repeat(sprite(12, 12, seed=7), 2, axis=0), 2, axis=1)
    img = degrade(upscale(spr, 6.0), seed=7, noise=1.0)
    assert detect_grid(img, size_hint=(24, 24)).cols == 24
    assert detect_grid(img, size_hint=(12, 12)).cols == 12


def test_frames_share_one_grid() -> None:
    frames = [
        degrade(upscale(sprite(16, 16, seed=s), 8.5, offset=(2.0, 2.0)), seed=s) for s in (8, 9)
    ]
    grid = detect_grid_frames(frames)
    assert (grid.cols, grid.rows) == (16, 16)
    assert grid.cell_w == pytest.approx(8.5, abs=0.05)


def test_frames_of_different_sizes_are_refused() -> None:
    with pytest.raises(InvalidImageError, match="share one size"):
        detect_grid_frames([np.zeros((10, 10, 3), np.uint8), np.zeros((12, 10, 3), np.uint8)])


def test_empty_image_is_refused() -> None:
    with pytest.raises(InvalidImageError, match="empty"):
        detect_grid(np.zeros((0, 0, 3), np.uint8))


def test_one_pixel_image_is_a_clean_one_cell_grid() -> None:
    grid = detect_grid(np.full((1, 1, 3), 7, np.uint8))
    assert (grid.cols, grid.rows, grid.already_clean) == (1, 1, True)


def test_wrong_dtype_names_the_argument() -> None:
    with pytest.raises(InvalidImageError, match="image: expected dtype uint8"):
        detect_grid(np.zeros((8, 8, 3), np.float32))  # type: ignore[arg-type]


def test_hint_larger_than_the_image_does_not_fit() -> None:
    with pytest.raises(GridDoesNotFitError, match="size_hint: 64x64 does not fit a 32x32"):
        detect_grid(np.zeros((32, 32, 3), np.uint8), size_hint=(64, 64))


def test_malformed_hint_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="size_hint"):
        detect_grid(np.zeros((32, 32, 3), np.uint8), size_hint=(8, 8, 8))  # type: ignore[arg-type]


def test_grid_from_size_refuses_more_cells_than_pixels() -> None:
    with pytest.raises(GridDoesNotFitError, match="do not fit"):
        grid_from_size(10, 10, 20, 5)


def test_to_dict_is_plain_json() -> None:
    d = grid_from_size(64, 32, 8, 4).to_dict()
    assert d == {
        "cell_w": 8.0,
        "cell_h": 8.0,
        "offset_x": 0.0,
        "offset_y": 0.0,
        "cols": 8,
        "rows": 4,
        "confidence": 1.0,
        "already_clean": False,
    }


def test_lossless_integer_upscale_with_offset_is_read_exactly() -> None:
    truth = sprite(20, 12, seed=30)
    img = np.pad(
        np.repeat(np.repeat(truth, 3, axis=0), 3, axis=1), ((1, 2), (2, 0), (0, 0)), "edge"
    )
    grid = detect_grid(img[..., :3])
    assert (grid.cols, grid.rows, grid.cell_w, grid.confidence) == (20, 12, 3.0, 1.0)
    assert not grid.already_clean


def test_clean_sprite_with_flat_areas_is_already_clean() -> None:
    img = np.zeros((40, 40, 3), np.uint8)
    img[5:30, 8:36] = (200, 40, 40)  # big flat shapes fool a period search
    img[12:14, 10:30] = (40, 180, 60)
    img[20, 20] = (255, 255, 255)  # one 1-px detail
    grid = detect_grid(img)
    assert grid.already_clean and (grid.cols, grid.rows) == (40, 40)


@pytest.mark.parametrize("crop", [0, 3])
def test_sixteen_px_cells_on_the_jpeg_block_lines_are_not_halved(crop: int) -> None:
    big = degrade(upscale(sprite(20, 20, seed=31), 16.0), seed=31, blur=0.6, noise=2.0, jpeg=75)
    grid = detect_grid(np.ascontiguousarray(big[crop : crop + 304, crop : crop + 304]))
    assert grid.cell_w == pytest.approx(16.0, abs=0.1)
    assert grid.cols in (19, 20)


def test_edge_profiles_ignore_alpha_and_match_rgb() -> None:
    rng = np.random.default_rng(9)
    rgb = rng.integers(0, 256, size=(300, 520, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, rng.integers(0, 256, size=(300, 520, 1), dtype=np.uint8)], 2)
    for axis in (0, 1):
        np.testing.assert_array_equal(edge_profile(rgba, axis), edge_profile(rgb, axis))
    # a step of 10 in 3 channels on each of 4 rows: 120 at the boundary between px 2 and 3
    flat = np.zeros((4, 6, 3), dtype=np.uint8)
    flat[:, 3:] = 10
    np.testing.assert_array_equal(edge_profile(flat, 1), [0, 0, 120, 0, 0])
