"""One pixel grid for every frame of a sheet, and the frames that cannot share it.

The frames of a sheet are read with one grid, so all come out the same size and phase.
Detected over all frames at once (``grid.detect_grid_frames``), one odd frame can pull
that grid off: a frame drawn at another pixel scale, or one with no pixel grid at all (a
failed render), drags a lossless set to its own cell size. ``shared_grid`` detects each
frame's own grid first; when most frames have a clear one, it takes the cell size they
agree on, names the frames whose grid is weak or off it, and detects the shared grid over
the frames that agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .grid import GridEstimate, detect_grid, detect_grid_frames

__all__ = [
    "MAX_CELL_MISMATCH",
    "MIN_FRAME_CONFIDENCE",
    "FrameGridProblem",
    "SharedGrid",
    "shared_grid",
]

MIN_FRAME_CONFIDENCE: Final[float] = 0.5
"""A frame whose own grid is detected with less confidence has no clear pixel grid."""
MAX_CELL_MISMATCH: Final[float] = 0.15
"""A frame whose own cell size is further (relative) from the frames' common one is off."""


@dataclass(frozen=True)
class FrameGridProblem:
    """One frame that does not fit the grid the other frames share, and why, in words."""

    index: int
    own: GridEstimate
    reason: str


@dataclass(frozen=True)
class SharedGrid:
    """The grid every frame is read with, and the frames that do not fit it.

    Attributes:
        grid: Detected over the frames that agree (all frames when none do).
        problems: The frames left out of that detection, in order.
    """

    grid: GridEstimate
    problems: tuple[FrameGridProblem, ...]


def _reason(own: GridEstimate, cell: float | None) -> str | None:
    """Why a frame is off the grid of the others (`cell`: their common cell size, None
    when most frames have no clear grid: then no frame is the odd one out)."""
    if cell is None:
        return None
    if own.confidence < MIN_FRAME_CONFIDENCE:
        return f"no clear pixel grid of its own (confidence {own.confidence:.2f})"
    if abs(own.cell_w / cell - 1.0) > MAX_CELL_MISMATCH:
        return f"its pixels are {own.cell_w:.1f} px wide, the other frames' {cell:.1f} px"
    return None


def shared_grid(
    frames: Sequence[npt.NDArray[np.uint8]], size_hint: tuple[int, int] | None = None
) -> SharedGrid:
    """The one grid of a sheet's same-size frames (see the module doc).

    Args:
        frames: The source frames (before pixelizing), uint8 ``[H, W, 3|4]``, one size.
        size_hint: The sprite size asked for, a prior for every detection.

    Raises:
        InvalidImageError: no frames, a malformed frame, or frames of different sizes.
        GridDoesNotFitError: the hint asks for more cells than pixels.
    """
    owns = [detect_grid(frame, size_hint) for frame in frames]
    confident = [g.cell_w for g in owns if g.confidence >= MIN_FRAME_CONFIDENCE]
    # Most frames must agree on a grid before any frame can be the odd one out; a sheet of
    # weak grids gets the QA report's own "low grid confidence" warning instead.
    cell = float(np.median(confident)) if 2 * len(confident) > len(owns) else None
    problems = []
    for index, own in enumerate(owns):
        reason = _reason(own, cell)
        if reason is not None:
            problems.append(FrameGridProblem(index, own, reason))
    off = {p.index for p in problems}
    fitting = [f for i, f in enumerate(frames) if i not in off]
    return SharedGrid(detect_grid_frames(fitting or frames, size_hint), tuple(problems))
