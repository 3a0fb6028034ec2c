"""Whether every frame of a sheet can share the sheet's one pixel grid.

The frames of a sheet are read with one grid (``grid.detect_grid_frames``): their edges
vote together, so all frames come out the same size and phase. A frame drawn at another
pixel scale, or one with no pixel grid at all (a failed render, a photo-like frame), is
outvoted silently and comes out as mush. ``frames_off_grid`` detects each frame's own grid
as well and names the frames whose grid is weak or does not match the shared one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .grid import GridEstimate, detect_grid

__all__ = ["MAX_CELL_MISMATCH", "MIN_FRAME_CONFIDENCE", "FrameGridProblem", "frames_off_grid"]

MIN_FRAME_CONFIDENCE: Final[float] = 0.5
"""A frame whose own grid is detected with less confidence has no clear pixel grid."""
MAX_CELL_MISMATCH: Final[float] = 0.15
"""A frame whose own cell size differs from the shared one by more (relative) is off-grid."""


@dataclass(frozen=True)
class FrameGridProblem:
    """One frame that does not fit the sheet's shared grid, and why, in words."""

    index: int
    own: GridEstimate
    reason: str


def _reason(own: GridEstimate, shared: GridEstimate) -> str | None:
    if own.already_clean and shared.already_clean:
        return None
    if own.confidence < MIN_FRAME_CONFIDENCE:
        return f"no clear pixel grid of its own (confidence {own.confidence:.2f})"
    mismatch = abs(own.cell_w / shared.cell_w - 1.0)
    if mismatch > MAX_CELL_MISMATCH:
        return (
            f"its pixels are {own.cell_w:.1f} px wide, the sheet's {shared.cell_w:.1f} px "
            f"({mismatch:.0%} apart)"
        )
    return None


def frames_off_grid(
    frames: Sequence[npt.NDArray[np.uint8]],
    shared: GridEstimate,
    size_hint: tuple[int, int] | None = None,
) -> tuple[FrameGridProblem, ...]:
    """The frames whose own grid is weak or differs from ``shared``, in order.

    Args:
        frames: The source frames (before pixelizing), uint8 ``[H, W, 3|4]``.
        shared: The grid the frames were read with together.
        size_hint: The sprite size asked for, passed to each frame's detection.
    """
    problems = []
    for index, frame in enumerate(frames):
        own = detect_grid(frame, size_hint)
        reason = _reason(own, shared)
        if reason is not None:
            problems.append(FrameGridProblem(index, own, reason))
    return tuple(problems)
