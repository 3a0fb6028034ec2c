"""How much the frames of an animation sheet look like one character.

Measured on the finished, aligned frames (what a game plays):

- every frame locked to the one sheet palette, every frame the same size;
- silhouette IoU (opaque pixels) between consecutive frames of each animation: a walk
  cycle moves its legs, it does not turn into another shape;
- pivot drift: how far each frame's pivot (feet row, centre column) sits from frame 0's;
- height spread: the opaque height of the tallest frame against the shortest, since a
  character that changes proportions between frames is not one character.

The thresholds past which the report warns are defined once, in ``THRESHOLDS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .errors import InvalidParameterError
from .image_io import check_rgba
from .pivot import find_pivot
from .sheets import FrameTag

__all__ = ["THRESHOLDS", "ConsistencyThresholds", "SheetConsistency", "frame_label", "measure"]

RGBA = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ConsistencyThresholds:
    """Where a sheet stops looking like one character.

    Attributes:
        min_silhouette_iou: Consecutive frames of one animation overlapping less than this
            (intersection over union of their opaque pixels) get a warning.
        max_pivot_drift_px: A frame whose pivot is further than this from frame 0's.
        max_height_spread: Tallest over shortest opaque height, minus 1 (0.25: 25 %).
    """

    min_silhouette_iou: float = 0.5
    max_pivot_drift_px: int = 1
    max_height_spread: float = 0.25


THRESHOLDS: Final = ConsistencyThresholds()


@dataclass(frozen=True)
class SheetConsistency:
    """The consistency figures of one sheet and the warnings they raise.

    Attributes:
        frame_count: Frames measured.
        frame_sizes_identical: Every frame has one size.
        frame_size: ``(width, height)`` of frame 0.
        palette_identical: Every frame uses only colours of the one sheet palette.
        palette_size: Colours in that palette.
        frames_off_palette: Indices of frames with a colour outside it.
        silhouette_iou: ``(first, second, iou)`` per consecutive pair within each
            animation (frames of one animation in order).
        pivot_drift_px: The largest distance (either axis) of a frame's pivot from frame 0's.
        height_spread: Tallest over shortest opaque height of the frames, minus 1.
        warnings: Each figure past its threshold, naming the frames.
    """

    frame_count: int
    frame_sizes_identical: bool
    frame_size: tuple[int, int]
    palette_identical: bool
    palette_size: int
    frames_off_palette: tuple[int, ...]
    silhouette_iou: tuple[tuple[int, int, float], ...]
    pivot_drift_px: int
    height_spread: float
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def min_silhouette_iou(self) -> float | None:
        """The smallest consecutive-frame IoU (None: no animation has two frames)."""
        return min((iou for _, _, iou in self.silhouette_iou), default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figures (``json.dumps`` works on it as is)."""
        low = self.min_silhouette_iou
        return {
            "frame_count": self.frame_count,
            "frame_sizes_identical": self.frame_sizes_identical,
            "frame_size": list(self.frame_size),
            "palette_identical": self.palette_identical,
            "palette_size": self.palette_size,
            "frames_off_palette": list(self.frames_off_palette),
            "silhouette_iou": [
                {"from": a, "to": b, "iou": round(iou, 4)} for a, b, iou in self.silhouette_iou
            ],
            "min_silhouette_iou": None if low is None else round(low, 4),
            "pivot_drift_px": self.pivot_drift_px,
            "height_spread": round(self.height_spread, 4),
            "thresholds": {
                "min_silhouette_iou": THRESHOLDS.min_silhouette_iou,
                "max_pivot_drift_px": THRESHOLDS.max_pivot_drift_px,
                "max_height_spread": THRESHOLDS.max_height_spread,
            },
        }


def frame_label(index: int, tags: Sequence[FrameTag]) -> str:
    """``"frame 5 (walk_left 1)"``: the index and where it sits in its animation."""
    for tag in tags:
        if tag.first <= index <= tag.last:
            return f"frame {index} ({tag.name} {index - tag.first})"
    return f"frame {index}"


def _packed(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    return rgb.astype(np.uint32) @ np.array([65536, 256, 1], dtype=np.uint32)


def _off_palette(frames: Sequence[RGBA], palette: npt.NDArray[np.uint8]) -> tuple[int, ...]:
    allowed = _packed(palette.reshape(-1, 3))
    return tuple(
        i
        for i, f in enumerate(frames)
        if not bool(np.isin(_packed(f[..., :3][f[..., 3] > 0]), allowed).all())
    )


def _iou(a: RGBA, b: RGBA) -> float:
    sa, sb = a[..., 3] > 0, b[..., 3] > 0
    union = int((sa | sb).sum())
    return 1.0 if union == 0 else int((sa & sb).sum()) / union


def _pairs(tags: Sequence[FrameTag], count: int) -> list[tuple[int, int]]:
    ranges = [(t.first, t.last) for t in tags] or [(0, count - 1)]
    return [(i, i + 1) for first, last in ranges for i in range(first, min(last, count - 1))]


def _heights(frames: Sequence[RGBA]) -> list[int]:
    rows = [np.flatnonzero((f[..., 3] > 0).any(axis=1)) for f in frames]
    return [int(r[-1] - r[0] + 1) for r in rows if r.size]


def _drift(frames: Sequence[RGBA]) -> tuple[int, list[int]]:
    pivots = [find_pivot(f) for f in frames]
    ref = next((p for p in pivots if p is not None), None)
    if ref is None:
        return 0, []
    far = [
        (i, max(abs(p.x - ref.x), abs(p.y - ref.y))) for i, p in enumerate(pivots) if p is not None
    ]
    worst = max(d for _, d in far)
    return worst, [i for i, d in far if d > THRESHOLDS.max_pivot_drift_px]


def _warnings(
    result: SheetConsistency, drifting: list[int], tags: Sequence[FrameTag]
) -> tuple[str, ...]:
    out: list[str] = []
    if not result.frame_sizes_identical:
        out.append("sheet: the frames differ in size; they cannot share one atlas grid")
    for i in result.frames_off_palette:
        out.append(f"sheet: {frame_label(i, tags)} uses colours outside the sheet palette")
    for a, b, iou in result.silhouette_iou:
        if iou < THRESHOLDS.min_silhouette_iou:
            out.append(
                f"sheet: {frame_label(a, tags)} and {frame_label(b, tags)} overlap only "
                f"{iou:.2f} (silhouette IoU < {THRESHOLDS.min_silhouette_iou}); lower the "
                "denoise for frames that stay one character"
            )
    for i in drifting:
        out.append(
            f"sheet: {frame_label(i, tags)}'s pivot is more than "
            f"{THRESHOLDS.max_pivot_drift_px} px from frame 0's"
        )
    if result.height_spread > THRESHOLDS.max_height_spread:
        out.append(
            f"sheet: the character's height varies by {result.height_spread:.0%} between "
            f"frames (over {THRESHOLDS.max_height_spread:.0%})"
        )
    return tuple(out)


def measure(
    frames: Sequence[RGBA],
    tags: Sequence[FrameTag] = (),
    palette: npt.NDArray[np.uint8] | None = None,
) -> SheetConsistency:
    """Measure a sheet's frames (see the module doc).

    Args:
        frames: ``[h, w, 4]`` uint8 frames in sheet order.
        tags: The animations; consecutive pairs are taken within each (all frames as one
            animation when there are none).
        palette: ``[N, 3]`` uint8 sheet palette; None takes frame 0's colours.

    Raises:
        InvalidParameterError: no frames.
        InvalidImageError: a frame that is not RGBA uint8.
    """
    if len(frames) == 0:
        raise InvalidParameterError("frames is empty; a sheet needs at least one frame")
    checked = [check_rgba(f, f"frames[{i}]") for i, f in enumerate(frames)]
    colors = (
        palette
        if palette is not None
        else np.unique(checked[0][..., :3][checked[0][..., 3] > 0].reshape(-1, 3), axis=0)
    )
    same_size = len({f.shape[:2] for f in checked}) == 1
    pairs = _pairs(tags, len(checked)) if same_size else []
    heights = _heights(checked)
    drift, drifting = _drift(checked) if same_size else (0, [])
    off = _off_palette(checked, colors)
    result = SheetConsistency(
        frame_count=len(checked),
        frame_sizes_identical=same_size,
        frame_size=(int(checked[0].shape[1]), int(checked[0].shape[0])),
        palette_identical=not off,
        palette_size=len(colors),
        frames_off_palette=off,
        silhouette_iou=tuple((a, b, _iou(checked[a], checked[b])) for a, b in pairs),
        pivot_drift_px=drift,
        height_spread=max(heights) / min(heights) - 1.0 if heights else 0.0,
    )
    return replace(result, warnings=_warnings(result, drifting, tags))
