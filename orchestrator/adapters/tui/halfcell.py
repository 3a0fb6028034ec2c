"""Half-cell image rendering: two pixels per terminal cell with the `▀` glyph.

The fallback that works in every colour terminal: each cell's foreground is the upper
pixel and its background the lower one. Pixel art is scaled nearest-neighbour (integer
factors when enlarging, so pixels stay square and crisp), and transparent pixels show a
grey checkerboard, blended for partial alpha. Pure: numpy + rich, nothing at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

__all__ = [
    "CHECKER_DARK",
    "CHECKER_LIGHT",
    "HALF_BLOCK",
    "HalfCellImage",
    "composite_on_checker",
    "fit_size",
    "scale_nearest",
]

HALF_BLOCK = "▀"
CHECKER_LIGHT = (204, 204, 204)
CHECKER_DARK = (153, 153, 153)

RGBA = NDArray[np.uint8]


def fit_size(width: int, height: int, max_cols: int, max_rows: int) -> tuple[int, int]:
    """Output size in pixels for an image in a box of `max_cols` × `max_rows` cells.

    A cell holds 1 × 2 pixels. Enlarging uses the largest integer factor that fits;
    shrinking keeps the aspect ratio (at least 1 pixel each way).

    Args:
        width: Source width in pixels.
        height: Source height in pixels.
        max_cols: Available columns (≥ 1).
        max_rows: Available rows (≥ 1).
    """
    if width < 1 or height < 1 or max_cols < 1 or max_rows < 1:
        raise ValueError(
            f"size={width}x{height} box={max_cols}x{max_rows}: every dimension must be ≥ 1"
        )
    box_w, box_h = max_cols, max_rows * 2
    factor = min(box_w // width, box_h // height)
    if factor >= 1:
        return width * factor, height * factor
    ratio = min(box_w / width, box_h / height)
    return max(1, int(width * ratio)), max(1, int(height * ratio))


def scale_nearest(rgba: RGBA, out_w: int, out_h: int) -> RGBA:
    """Nearest-neighbour resample, sampling each output pixel's centre."""
    height, width = rgba.shape[:2]
    ys = ((np.arange(out_h) + 0.5) * height / out_h).astype(np.intp)
    xs = ((np.arange(out_w) + 0.5) * width / out_w).astype(np.intp)
    out: RGBA = rgba[np.minimum(ys, height - 1)][:, np.minimum(xs, width - 1)]
    return out


def composite_on_checker(rgba: RGBA) -> NDArray[np.uint8]:
    """Blend RGBA over a 1-pixel checkerboard (light where x + y is even) -> RGB."""
    height, width = rgba.shape[:2]
    yy, xx = np.indices((height, width))
    light = ((xx + yy) % 2 == 0)[..., None]
    checker = np.where(light, np.array(CHECKER_LIGHT), np.array(CHECKER_DARK))
    alpha = rgba[..., 3:4].astype(np.uint32)
    rgb = rgba[..., :3].astype(np.uint32)
    blended = (rgb * alpha + checker.astype(np.uint32) * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)


@dataclass(frozen=True)
class _Key:
    cols: int
    rows: int


class HalfCellImage:
    """A Rich renderable drawing an RGBA image with half-block cells.

    Args:
        rgba: `[H, W, 4]` uint8 image.
        max_cols: Widest it may be, in cells (default: the console's width).
        max_rows: Tallest it may be, in cells (default: the console's height, else 24).
    """

    def __init__(self, rgba: RGBA, max_cols: int | None = None, max_rows: int | None = None):
        if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
            raise ValueError(
                f"rgba shape={rgba.shape} dtype={rgba.dtype}: expected [H, W, 4] uint8"
            )
        self.rgba = rgba
        self.max_cols = max_cols
        self.max_rows = max_rows
        self._cache: dict[_Key, list[list[Segment]]] = {}

    def _box(self, options: ConsoleOptions) -> _Key:
        cols = min(self.max_cols or options.max_width, options.max_width)
        rows = self.max_rows or options.height or options.size.height or 24
        return _Key(max(1, cols), max(1, rows))

    def lines(self, cols: int, rows: int) -> list[list[Segment]]:
        """The rendered rows of segments (no newlines) for a box of `cols` × `rows` cells."""
        key = _Key(cols, rows)
        if key not in self._cache:
            self._cache[key] = self._render(key)
        return self._cache[key]

    def _render(self, key: _Key) -> list[list[Segment]]:
        height, width = self.rgba.shape[:2]
        out_w, out_h = fit_size(width, height, key.cols, key.rows)
        rgb = composite_on_checker(scale_nearest(self.rgba, out_w, out_h))
        lines = []
        for top in range(0, out_h, 2):
            row = []
            for x in range(out_w):
                fg = Color.from_rgb(*(int(c) for c in rgb[top, x]))
                bg = None
                if top + 1 < out_h:
                    bg = Color.from_rgb(*(int(c) for c in rgb[top + 1, x]))
                row.append(Segment(HALF_BLOCK, Style(color=fg, bgcolor=bg)))
            lines.append(Segment.simplify(row))
        return [list(line) for line in lines]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = self._box(options)
        for line in self.lines(key.cols, key.rows):
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        key = self._box(options)
        height, width = self.rgba.shape[:2]
        out_w, _ = fit_size(width, height, key.cols, key.rows)
        return Measurement(out_w, out_w)
