"""True sprites as palette-index maps: index 0 is transparent, 1..k are palette colours.

Each maker draws its shape's regions; ``colour_in`` then spends exactly ``k`` colours on
them (fills, shading bands, 1-px details) so the truth palette size is known.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["SHAPES", "colour_in"]

Regions = NDArray[np.int32]  # 0 transparent, 1 outline, 2.. fill regions
Maker = Callable[[int, int, np.random.Generator], Regions]


def _ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> NDArray[np.bool_]:
    yy, xx = np.mgrid[0:h, 0:w]
    inside = ((yy + 0.5 - cy) / ry) ** 2 + ((xx + 0.5 - cx) / rx) ** 2 <= 1.0
    return np.asarray(inside, dtype=bool)


def _outline(fill: NDArray[np.bool_]) -> NDArray[np.bool_]:
    grown = fill.copy()
    grown[1:] |= fill[:-1]
    grown[:-1] |= fill[1:]
    grown[:, 1:] |= fill[:, :-1]
    grown[:, :-1] |= fill[:, 1:]
    return grown & ~fill


def _finish(regions: Regions) -> Regions:
    body = regions > 0
    regions[_outline(body)] = 1
    return regions


def item(h: int, w: int, rng: np.random.Generator) -> Regions:
    """A potion or gem: a round body, a neck, a cork."""
    r = np.zeros((h, w), np.int32)
    body = _ellipse(h, w, h * 0.62, w / 2, h * 0.28, w * rng.uniform(0.25, 0.38))
    r[body] = 2
    neck = slice(int(h * 0.2), int(h * 0.4)), slice(int(w * 0.42), int(w * 0.58) + 1)
    r[neck] = 3
    r[int(h * 0.12) : int(h * 0.2), int(w * 0.38) : int(w * 0.62) + 1] = 4
    return _finish(r)


def character(h: int, w: int, rng: np.random.Generator) -> Regions:
    """A figure with a round head, a body and 1-cell-wide arms and legs."""
    r = np.zeros((h, w), np.int32)
    cx = w // 2
    r[_ellipse(h, w, h * 0.2, cx + 0.5, h * 0.13, w * 0.14)] = 2
    top, bottom = int(h * 0.34), int(h * 0.62)
    r[top:bottom, cx - max(1, w // 8) : cx + max(1, w // 8) + 1] = 3
    for side in (-1, 1):  # thin limbs: one cell wide
        for t in range(int(h * 0.22)):
            r[
                min(h - 2, top + 1 + t), int(np.clip(cx + side * (w // 8 + 1 + t // 2), 1, w - 2))
            ] = 4
            r[min(h - 2, bottom + t), int(np.clip(cx + side * (1 + t // 3), 1, w - 2))] = 5
    if rng.random() < 0.5:  # a sword in one hand
        r[int(h * 0.3) : int(h * 0.55), min(w - 2, cx + w // 8 + int(h * 0.11) + 1)] = 6
    return _finish(r)


def icon(h: int, w: int, rng: np.random.Generator) -> Regions:
    """A UI button: a rounded frame with a plus or an arrow inside."""
    r = np.zeros((h, w), np.int32)
    r[1:-1, 2:-2] = 2
    r[2:-2, 1:-1] = 2
    r[3:-3, 3:-3] = 3
    cy, cx = h // 2, w // 2
    arm = max(1, min(h, w) // 5)
    if rng.random() < 0.5:
        r[cy - arm : cy + arm + 1, cx] = 4
        r[cy, cx - arm : cx + arm + 1] = 4
    else:
        for t in range(arm + 1):
            r[cy - arm + t : cy + arm - t + 1, cx - arm // 2 + t] = 4
    return _finish(r)


_GLYPHS = [
    "01110100011000111111100011000110001",  # A
    "11110100011111010001100011000111110",  # B
    "01110100011000010000100001000101110",  # C
    "11111100001111010000100001000011111",  # E
    "10001100011000111111100011000110001",  # H
    "01110001000010000100001000010001110",  # I
]


def glyphs(h: int, w: int, rng: np.random.Generator) -> Regions:
    """A label: 5x7 bitmap letters on a plate."""
    r = np.zeros((h, w), np.int32)
    r[1:-1, 1:-1] = 2
    x = 2
    while x + 5 <= w - 2:
        bits = _GLYPHS[int(rng.integers(len(_GLYPHS)))]
        cell = np.array([int(b) for b in bits], np.int32).reshape(7, 5)
        y = max(2, (h - 7) // 2)
        if y + 7 <= h - 1:
            r[y : y + 7, x : x + 5][cell == 1] = 3
        x += 6
    return _finish(r)


def dithered_tile(h: int, w: int, rng: np.random.Generator) -> Regions:
    """An opaque tile: two grounds meeting in a checkerboard-dithered band, with stones."""
    yy, xx = np.mgrid[0:h, 0:w]
    edge = h * rng.uniform(0.35, 0.65) + 2.0 * np.sin(xx * 2 * np.pi / w)
    r = np.where(yy < edge, 2, 3).astype(np.int32)
    band = np.abs(yy - edge) < 1.5
    r[band & ((yy + xx) % 2 == 0)] = 2
    r[band & ((yy + xx) % 2 == 1)] = 3
    for _ in range(max(1, h * w // 60)):
        y, x = int(rng.integers(h)), int(rng.integers(w))
        r[y, x] = 4
    return r


SHAPES: dict[str, Maker] = {
    "item": item,
    "character": character,
    "icon": icon,
    "glyphs": glyphs,
    "tile": dithered_tile,
}


def colour_in(regions: Regions, k: int, rng: np.random.Generator) -> NDArray[np.int32]:
    """Spend exactly ``k`` colours (1..k) on the regions: one per region first, then shading
    bands across the largest fills, then single-cell details; fewer when the shape has
    too few cells to carry ``k`` (the truth palette is what is drawn)."""
    h, w = regions.shape
    out = np.zeros_like(regions)
    labels = [int(v) for v in np.unique(regions) if v > 0]
    for n, lab in enumerate(labels):
        out[regions == lab] = min(n + 1, k)
    used = min(len(labels), k)
    yy = np.mgrid[0:h, 0:w][0]
    for lab in sorted(labels, key=lambda v: -int((regions == v).sum())):
        if used >= k or lab == 1:
            continue
        cells = regions == lab
        rows = yy[cells]
        if rows.max() - rows.min() < 3:
            continue
        cut = rows.min() + (rows.max() - rows.min()) * rng.uniform(0.4, 0.7)
        used += 1
        out[cells & (yy > cut)] = used  # a shading band at the bottom of the region
    free = np.argwhere(out > 0)
    rng.shuffle(free)
    for y, x in free[: max(0, k - used)]:
        used += 1
        out[y, x] = used  # a 1-px detail of its own colour
    return out
