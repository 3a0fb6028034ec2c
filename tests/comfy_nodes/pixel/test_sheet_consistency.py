"""Consistency figures of a sheet: exact values on tiny frames, warnings naming frames."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.sheet_consistency import THRESHOLDS, frame_label, measure
from comfy_nodes.pixel.sheets import FrameTag

RED, BLUE, GREEN = (200, 30, 30), (30, 30, 200), (30, 200, 30)
PALETTE = np.array([RED, BLUE], dtype=np.uint8)
TAGS = (FrameTag("walk_down", 0, 1), FrameTag("walk_up", 2, 3))


def _frame(x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int] = RED) -> np.ndarray:
    frame = np.zeros((8, 8, 4), dtype=np.uint8)
    frame[y0 : y1 + 1, x0 : x1 + 1] = (*color, 255)
    return frame


def test_identical_frames_are_fully_consistent() -> None:
    result = measure([_frame(2, 2, 5, 7)] * 4, TAGS, PALETTE)

    assert result.frame_sizes_identical and result.palette_identical
    assert result.palette_size == 2 and result.frame_size == (8, 8)
    assert result.silhouette_iou == ((0, 1, 1.0), (2, 3, 1.0))  # within each animation
    assert result.pivot_drift_px == 0 and result.height_spread == 0.0
    assert result.warnings == ()


def test_each_figure_past_its_threshold_warns_naming_the_frames() -> None:
    frames = [
        _frame(2, 2, 5, 7),  # 4 x 6 = 24 px, pivot (3, 7)
        _frame(4, 4, 7, 7),  # overlap 2 x 4 = 8 px of 32: IoU 0.25; pivot (5, 7): 2 px off
        _frame(2, 2, 5, 7, GREEN),  # off the palette
        _frame(2, 2, 5, 7),
    ]

    result = measure(frames, TAGS, PALETTE)

    assert result.silhouette_iou[0] == (0, 1, 8 / 32)
    assert result.frames_off_palette == (2,) and not result.palette_identical
    assert result.pivot_drift_px == 2
    assert result.height_spread == pytest.approx(6 / 4 - 1)
    text = "\n".join(result.warnings)
    assert "frame 0 (walk_down 0) and frame 1 (walk_down 1) overlap only 0.25" in text
    assert "frame 2 (walk_up 0) uses colours outside the sheet palette" in text
    assert f"frame 1 (walk_down 1)'s pivot is more than {THRESHOLDS.max_pivot_drift_px} px" in text
    assert "height varies by 50%" in text
    assert result.to_dict()["min_silhouette_iou"] == 0.25


def test_frames_of_different_sizes_are_reported_not_compared() -> None:
    result = measure([_frame(0, 0, 3, 3), np.zeros((4, 4, 4), np.uint8)])

    assert not result.frame_sizes_identical and result.silhouette_iou == ()
    assert any("differ in size" in w for w in result.warnings)


def test_no_frames_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="frames is empty"):
        measure([])


def test_a_frame_is_named_by_its_animation() -> None:
    assert frame_label(3, TAGS) == "frame 3 (walk_up 1)"
    assert frame_label(9, TAGS) == "frame 9"
