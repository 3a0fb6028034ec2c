"""Frames on one pivot: exact pixels on tiny frames."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.pivot import Pivot, align_on_pivot, find_pivot

RED = (200, 30, 30, 255)


def _frame(box: tuple[int, int, int, int], size: tuple[int, int] = (10, 8)) -> np.ndarray:
    """A ``size`` (w, h) frame with an opaque block over columns x0..x1, rows y0..y1."""
    x0, y0, x1, y1 = box
    frame = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    frame[y0 : y1 + 1, x0 : x1 + 1] = RED
    return frame


def test_the_pivot_is_the_lowest_opaque_row_and_the_middle_column() -> None:
    assert find_pivot(_frame((2, 1, 5, 4))) == Pivot(x=3, y=4)
    assert find_pivot(np.zeros((4, 4, 4), np.uint8)) is None


def test_drifting_frames_land_on_one_pivot_at_the_centre_column() -> None:
    frames = [_frame((2, 1, 5, 4)), _frame((4, 2, 7, 5)), _frame((1, 0, 4, 3))]

    aligned = align_on_pivot(frames)

    assert aligned.tile == (10, 8)
    # the smallest bottom margin (frame 1: 8 - 1 - 5 = 2) is kept; centre column (10-1)//2
    assert aligned.pivot == Pivot(x=4, y=5)
    assert aligned.shifts == ((1, 1), (-1, 0), (2, 2))
    expected = _frame((3, 2, 6, 5))
    for frame in aligned.frames:
        assert np.array_equal(frame, expected)
    assert aligned.largest_shift_px == 2


def test_no_opaque_pixel_is_cut_however_far_the_frames_drift() -> None:
    frames = [
        _frame((0, 0, 7, 1), size=(8, 6)),  # wide, high up: feet on row 1
        _frame((6, 4, 7, 5), size=(8, 6)),  # small, in the bottom-right corner
        _frame((0, 0, 0, 5), size=(8, 6)),  # one column, full height
    ]

    aligned = align_on_pivot(frames)

    assert aligned.tile == (8, 6) and aligned.pivot == Pivot(x=3, y=5)
    for source, frame in zip(frames, aligned.frames, strict=True):
        assert int((frame[..., 3] > 0).sum()) == int((source[..., 3] > 0).sum())
        assert find_pivot(frame) == aligned.pivot


def test_an_empty_frame_is_kept_unmoved_and_named() -> None:
    empty = np.zeros((8, 10, 4), np.uint8)

    aligned = align_on_pivot([_frame((2, 1, 5, 4)), empty])

    assert aligned.empty == (1,)
    assert aligned.shifts[1] == (0, 0) and not aligned.frames[1].any()


def test_frames_of_different_sizes_are_refused_naming_the_sizes() -> None:
    with pytest.raises(InvalidParameterError, match="10x8, 4x4"):
        align_on_pivot([_frame((0, 0, 1, 1)), np.zeros((4, 4, 4), np.uint8)])
    with pytest.raises(InvalidParameterError, match="frames is empty"):
        align_on_pivot([])
