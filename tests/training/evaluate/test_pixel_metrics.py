"""Pixel-art metrics, exact on tiny seeded images."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluate.pixel_metrics import (
    grid_confidence,
    palette_distance,
    pixel_metrics,
    roundtrip_error,
)

COLORS = np.array([[200, 30, 30, 255], [30, 200, 30, 255], [20, 20, 90, 255]], dtype=np.uint8)


def _cells(seed: int = 0, side: int = 8) -> np.ndarray:
    return COLORS[np.random.default_rng(seed).integers(0, 3, (side, side))]


def _upscaled(cells: np.ndarray, factor: int = 4) -> np.ndarray:
    return np.repeat(np.repeat(cells, factor, 0), factor, 1)


def test_clean_pixel_art_has_full_grid_confidence_and_no_round_trip_error() -> None:
    render = _upscaled(_cells())
    assert grid_confidence(render) == pytest.approx(1.0)
    assert roundtrip_error(render) == 0.0


def test_round_trip_error_is_the_mean_channel_error_of_a_broken_cell() -> None:
    render = _upscaled(_cells())
    render[0, 0, :3] = render[0, 0, :3] ^ np.uint8(0x08)  # one pixel off by 8 per channel
    # The cell keeps its majority colour, so the round trip puts the pixel back: 3 channels
    # of 8 over 32*32 pixels * 3 channels.
    assert roundtrip_error(render) == pytest.approx(8 * 3 / (32 * 32 * 3))


def test_palette_distance_is_zero_on_training_colours_and_exact_off_them() -> None:
    sprite = _cells()
    assert palette_distance(sprite, COLORS[:, :3]) == 0.0
    # Only red and green are training colours: the blue pixels count their OKLab
    # distance to the nearer of the two, every other pixel 0.
    from comfy_nodes.pixel.color import srgb_to_oklab

    blue = (sprite[..., :3] == COLORS[2, :3]).all(-1)
    lab = srgb_to_oklab(COLORS[:, :3]).astype(np.float64)
    nearest = min(np.linalg.norm(lab[2] - lab[0]), np.linalg.norm(lab[2] - lab[1]))
    expected = nearest * blue.sum() / blue.size
    assert palette_distance(sprite, COLORS[:2, :3]) == pytest.approx(expected, rel=1e-6)


def test_transparent_pixels_do_not_count() -> None:
    sprite = _cells()
    sprite[..., 3] = 0
    sprite[0, 0] = COLORS[0]
    assert palette_distance(sprite, COLORS[:1, :3]) == 0.0


def test_pixel_metrics_gathers_every_figure() -> None:
    cells = _cells(1)
    cells[0, 0, 3] = 0  # one transparent cell
    metrics = pixel_metrics(_upscaled(_cells(1)), cells, COLORS[:, :3])
    assert metrics.colors == 3 and metrics.palette_distance == 0.0
    assert metrics.grid_confidence == pytest.approx(1.0) and metrics.roundtrip_error == 0.0
    assert pixel_metrics(_upscaled(cells), cells, None).palette_distance is None
