"""Animation frames on one pivot: the feet on one row, the body on one centre column.

A character drawn frame by frame drifts: one frame stands a pixel lower, the next leans
right. Played in a game that jitters. ``align_on_pivot`` finds each frame's pivot (the
lowest opaque row, the centre of its opaque columns) and moves every frame so all pivots
land on one point of a tile of the frames' own size. No opaque pixel is ever cut: the
pivot column sits within one pixel of the middle of each frame's opaque columns, and the
feet row keeps the smallest bottom margin, which leaves every frame's height room above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .errors import InvalidParameterError
from .image_io import check_rgba

__all__ = ["Alignment", "Pivot", "align_on_pivot", "find_pivot"]

RGBA = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Pivot:
    """A frame's anchor in pixels, y down: ``x`` the centre column, ``y`` the feet row."""

    x: int
    y: int


@dataclass(frozen=True)
class _Extent:
    """Opaque columns left and right of a pivot."""

    left: int
    right: int


def find_pivot(frame: RGBA) -> Pivot | None:
    """The lowest opaque row and the middle (floor) of the opaque columns; None when the
    frame has no opaque pixel."""
    alpha = check_rgba(frame, "frame")[..., 3] > 0
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return None
    return Pivot(x=int(cols[0] + cols[-1]) // 2, y=int(rows[-1]))


def _extent(frame: RGBA, pivot: Pivot) -> _Extent:
    cols = np.flatnonzero((frame[..., 3] > 0).any(axis=0))
    return _Extent(pivot.x - int(cols[0]), int(cols[-1]) - pivot.x)


@dataclass(frozen=True)
class Alignment:
    """Frames moved onto one pivot.

    Attributes:
        frames: The aligned frames, all ``tile`` sized.
        pivot: Where every non-empty frame's pivot now is (tile pixels, y down).
        shifts: ``(dx, dy)`` each frame was moved by (``(0, 0)`` for an empty frame).
        source_pivots: Each frame's pivot before alignment (None: no opaque pixel).
        empty: Indices of frames with no opaque pixel (copied unmoved).
    """

    frames: tuple[RGBA, ...]
    pivot: Pivot
    shifts: tuple[tuple[int, int], ...]
    source_pivots: tuple[Pivot | None, ...]
    empty: tuple[int, ...]

    @property
    def tile(self) -> tuple[int, int]:
        """``(width, height)`` of every aligned frame."""
        height, width = self.frames[0].shape[:2]
        return int(width), int(height)

    @property
    def largest_shift_px(self) -> int:
        """The largest move along either axis: how far the frames had drifted."""
        return max((max(abs(dx), abs(dy)) for dx, dy in self.shifts), default=0)


def _checked(frames: Sequence[RGBA]) -> list[RGBA]:
    if len(frames) == 0:
        raise InvalidParameterError("frames is empty; give at least one frame to align")
    checked = [check_rgba(f, f"frames[{i}]") for i, f in enumerate(frames)]
    sizes = sorted({f"{f.shape[1]}x{f.shape[0]}" for f in checked})
    if len(sizes) > 1:
        raise InvalidParameterError(
            f"frames have different sizes ({', '.join(sizes)}); pixelize them together first"
        )
    return checked


def align_on_pivot(frames: Sequence[RGBA]) -> Alignment:
    """Move every frame so its pivot lands on one common pivot.

    The common pivot keeps the smallest bottom margin the frames had (the feet stay where
    the lowest-standing frame put them) and sits on the centre column, moved aside only
    as far as a frame's opaque columns need to stay inside.

    Raises:
        InvalidParameterError: no frames, or frames of different sizes.
    """
    # 1. check, 2. pivots and extents, 3. the common pivot, 4. move each frame.
    checked = _checked(frames)
    height, width = checked[0].shape[:2]
    pivots = [find_pivot(f) for f in checked]
    placed = [(f, p) for f, p in zip(checked, pivots, strict=True) if p is not None]
    if not placed:
        unmoved = ((0, 0),) * len(checked)
        everyone = tuple(range(len(checked)))
        return Alignment(
            tuple(checked), Pivot((width - 1) // 2, height - 1), unmoved, tuple(pivots), everyone
        )
    extents = [_extent(f, p) for f, p in placed]
    left = max(e.left for e in extents)
    right = max(e.right for e in extents)
    bottom = min(height - 1 - p.y for _, p in placed)
    # Nothing is cut: left + right < width (a pivot halves its own frame's columns), and
    # every frame's rows above its feet fit above the lowest feet row (its own bottom
    # margin is at least the smallest one).
    target = Pivot(x=max(left, min((width - 1) // 2, width - 1 - right)), y=height - 1 - bottom)
    out: list[RGBA] = []
    shifts: list[tuple[int, int]] = []
    for frame, pivot in zip(checked, pivots, strict=True):
        dx, dy = (0, 0) if pivot is None else (target.x - pivot.x, target.y - pivot.y)
        out.append(_moved(frame, dx, dy, width, height))
        shifts.append((dx, dy))
    empty = tuple(i for i, p in enumerate(pivots) if p is None)
    return Alignment(tuple(out), target, tuple(shifts), tuple(pivots), empty)


def _moved(frame: RGBA, dx: int, dy: int, tile_w: int, tile_h: int) -> RGBA:
    """``frame`` moved by (dx, dy) onto a transparent ``tile_w`` x ``tile_h`` canvas."""
    out = np.zeros((tile_h, tile_w, 4), dtype=np.uint8)
    height, width = frame.shape[:2]
    x0, y0 = max(0, dx), max(0, dy)
    x1, y1 = min(tile_w, width + dx), min(tile_h, height + dy)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = frame[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
    return out
