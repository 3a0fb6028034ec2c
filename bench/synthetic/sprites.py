"""True sprites: creatures, items, tiles and sheets drawn with numpy from a seed.

Each sprite is uint8 RGBA with hard alpha and a small palette, and has the 1-px details
(eyes, thin strokes, mortar lines) the benchmark checks are kept.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["SpriteKind", "make_sprite", "random_palette"]

SpriteKind = Literal["creature", "item", "tile", "sheet"]
Rgba = NDArray[np.uint8]


def random_palette(rng: np.random.Generator, n: int) -> NDArray[np.uint8]:
    """``n`` colours at least ~60 RGB units apart, so every colour is meant to be distinct."""
    cols: list[NDArray[np.int64]] = []
    while len(cols) < n:
        c = rng.integers(0, 256, 3)
        if all(np.abs(c - o).sum() > 90 for o in cols):
            cols.append(c)
    return np.array(cols, dtype=np.uint8)


def _blob(rng: np.random.Generator, w: int, h: int) -> NDArray[np.bool_]:
    half = (w + 1) // 2
    noise = ndimage.gaussian_filter(rng.random((h, half)), sigma=max(1.0, min(w, h) / 8))
    yy, xx = np.mgrid[0:h, 0:half]
    cy, cx = (h - 1) / 2, half - 0.5
    rad = np.hypot((yy - cy) / (h * 0.42), (xx - cx) / (w * 0.42))
    field = (1.0 - rad) + (noise - noise.mean()) * 4.0
    left = field > 0.15
    mask = np.concatenate([left, left[:, ::-1][:, (2 * half - w) :]], axis=1)
    opened: NDArray[np.bool_] = ndimage.binary_opening(mask, iterations=1)
    sprite: NDArray[np.bool_] = opened | (mask & (rad.shape[0] < 12))
    return sprite


def _outline(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    eroded: NDArray[np.bool_] = ndimage.binary_erosion(mask)
    return mask & ~eroded


def _creature(rng: np.random.Generator, w: int, h: int, pal: NDArray[np.uint8]) -> Rgba:
    out = np.zeros((h, w, 4), np.uint8)
    mask = _blob(rng, w, h)
    if mask.sum() < 6:
        mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    bands = np.clip((np.arange(h) * 3) // h, 0, 2)
    body = pal[1 + bands][:, None, :].repeat(w, axis=1)
    out[mask, :3] = body[mask]
    out[_outline(mask), :3] = pal[0]
    out[mask, 3] = 255
    ys, _xs = np.nonzero(mask & ~_outline(mask))
    if ys.size:
        ey = int(ys.min() + (ys.max() - ys.min()) // 3)
        for ex in (w // 2 - max(1, w // 8), w // 2 + max(1, w // 8) - (w % 2 == 0)):
            if mask[ey, ex]:
                out[ey, ex, :3] = pal[4 % len(pal)]
    return out


def _item(rng: np.random.Generator, w: int, h: int, pal: NDArray[np.uint8]) -> Rgba:
    out = np.zeros((h, w, 4), np.uint8)
    n = min(w, h)
    for i in range(2, n - 2):  # a 1-px diagonal blade
        out[n - 1 - i, i] = (*pal[1], 255)
    g = n // 3
    for d in range(-2, 3):  # the guard, perpendicular
        y, x = n - 1 - g + d, g + d
        if 0 <= y < h and 0 <= x < w:
            out[y, x] = (*pal[2], 255)
    cy, cx, r = int(h * 0.7), int(w * 0.3), max(2, n // 6)
    yy, xx = np.mgrid[0:h, 0:w]
    gem = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    out[gem] = (*pal[3], 255)
    out[_outline(gem)] = (*pal[0], 255)
    out[cy, cx] = (*pal[4 % len(pal)], 255)
    return out


def _tile(rng: np.random.Generator, w: int, h: int, pal: NDArray[np.uint8]) -> Rgba:
    out = np.zeros((h, w, 4), np.uint8)
    out[..., 3] = 255
    bh = int(rng.integers(3, 6))
    bw = int(rng.integers(5, 9))
    for by in range(0, h, bh):
        shift = (by // bh) % 2 * (bw // 2)
        for bx in range(-shift, w, bw):
            out[by : by + bh, max(bx, 0) : bx + bw, :3] = pal[1 + int(rng.integers(0, 3))]
        out[by, :, :3] = pal[0]  # 1-px mortar
    for bx in range(0, w, bw):
        out[:, bx, :3] = np.where((np.arange(h) % bh == 0)[:, None], pal[0], out[:, bx, :3])
    speck = rng.random((h, w)) < 0.03
    out[speck, :3] = pal[4 % len(pal)]
    return out


def make_sprite(
    kind: SpriteKind, rng: np.random.Generator, w: int, h: int, n_colors: int = 6
) -> Rgba:
    """A true sprite of ``kind`` with ``w × h`` cells from ``n_colors`` colours."""
    pal = random_palette(rng, max(5, n_colors))
    if kind == "creature":
        return _creature(rng, w, h, pal)
    if kind == "item":
        return _item(rng, w, h, pal)
    if kind == "tile":
        return _tile(rng, w, h, pal)
    frames = [_creature(rng, w // 4, h, pal) for _ in range(4)]
    return np.concatenate(frames, axis=1)
