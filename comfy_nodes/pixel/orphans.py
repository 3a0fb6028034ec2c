"""Orphan-pixel removal: a lone pixel unlike all eight neighbours takes their majority colour.

Grid recovery and quantisation leave single stray pixels (noise, JPEG ringing, a dithered
cell). A pixel-art artist would never place a colour that appears nowhere around it, so
such pixels are replaced; everything is decided on the input, so the result does not
depend on scan order.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt

from .color import srgb_to_oklab
from .image_io import check_rgba

__all__ = ["find_orphans", "remove_orphans"]

RGBA = npt.NDArray[np.uint8]
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
_OUTSIDE = np.int64(1 << 40)  # a packed value no RGBA pixel can have


def _packed_neighbours(image: RGBA) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    packed = image.astype(np.int64)
    value: npt.NDArray[np.int64] = (
        (packed[..., 0] << 24) | (packed[..., 1] << 16) | (packed[..., 2] << 8) | packed[..., 3]
    )
    # Fully transparent pixels are one colour whatever their RGB says.
    value[image[..., 3] == 0] = 0
    padded = np.pad(value, 1, constant_values=_OUTSIDE)
    height, width = value.shape
    neighbours = np.stack(
        [padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in _OFFSETS]
    )
    return value, neighbours


def find_orphans(rgba: RGBA) -> npt.NDArray[np.bool_]:
    """Pixels whose colour none of their (up to eight) neighbours shares."""
    value, neighbours = _packed_neighbours(check_rgba(rgba))
    lonely: npt.NDArray[np.bool_] = ~(neighbours == value[None]).any(axis=0)
    return lonely


def _unpack(value: int) -> tuple[int, int, int, int]:
    return (value >> 24) & 255, (value >> 16) & 255, (value >> 8) & 255, value & 255


def _contrast(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """OKLab distance of two RGBA colours; visible against invisible counts as infinite."""
    if (first[3] == 0) != (second[3] == 0):
        return float("inf")
    lab = srgb_to_oklab(np.array([first[:3], second[:3]], dtype=np.uint8))
    return float(np.linalg.norm(lab[0] - lab[1]))


def remove_orphans(rgba: RGBA, max_contrast: float | None = None) -> RGBA:
    """Replace each orphan with its neighbours' most common colour.

    Args:
        rgba: ``[H, W, 4]`` uint8 sprite.
        max_contrast: if set, only orphans within this OKLab distance of their replacement
            are replaced. Stray pixels left by grid recovery sit close to their
            surroundings, while deliberate 1-px details (an eye, a glint) stand out, so
            e.g. 0.25 cleans the first and keeps the second. None replaces every orphan.

    Ties go to the neighbour met first in reading order (top-left first), so the result is
    deterministic. A 1×1 image is returned unchanged.
    """
    image = check_rgba(rgba)
    value, neighbours = _packed_neighbours(image)
    orphans = ~(neighbours == value[None]).any(axis=0)
    result = image.copy()
    for y, x in zip(*np.nonzero(orphans), strict=True):
        around = [int(v) for v in neighbours[:, y, x] if v != _OUTSIDE]
        if not around:
            continue
        winner = _unpack(Counter(around).most_common(1)[0][0])
        if max_contrast is None or _contrast(tuple(image[y, x]), winner) <= max_contrast:
            result[y, x] = winner
    return result
