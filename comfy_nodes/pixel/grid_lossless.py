"""Lossless pixel art (PNG sprites and their nearest-neighbour upscales), read exactly.

Such pictures have few colours and runs of identical pixels whose lengths are all
multiples of the block size, so the greatest common divisor of the run lengths is the
cell size: 1 means the picture already is a true-size sprite.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["change_gaps", "crisp_period", "few_colors", "lossless_lattice"]

#: Share of exactly equal neighbour pixels above which a picture is lossless pixel art.
_CRISP_SHARE = 0.3
_CRISP_MAX_COLORS = 256


def change_gaps(frames: Sequence[NDArray[np.uint8]], axis: int, step: int) -> NDArray[np.int64]:
    """Distances between consecutive colour changes along ``axis`` (every ``step``-th line)."""
    gaps: list[NDArray[np.int64]] = []
    for image in frames:
        lines = image[::step] if axis == 1 else np.swapaxes(image[:, ::step], 0, 1)
        change = np.any(lines[:, 1:] != lines[:, :-1], axis=-1)
        for row in change:
            pos = np.flatnonzero(row) + 1
            if pos.size >= 2:
                gaps.append(np.diff(pos))
    return np.concatenate(gaps) if gaps else np.zeros(0, np.int64)


def few_colors(image: NDArray[np.uint8]) -> bool:
    """Lossless pixel art has a handful of colours; noisy or JPEG pictures have thousands."""
    step = 4 if image.shape[0] * image.shape[1] > 65536 else 1
    sub = image[::step, ::step, :3].reshape(-1, 3).astype(np.uint32)
    packed = (sub[:, 0] << 16) | (sub[:, 1] << 8) | sub[:, 2]
    head = np.unique(packed[:4096])  # most noisy pictures fail on a small sample already
    if head.size > _CRISP_MAX_COLORS:
        return False
    return int(np.unique(packed).size) <= _CRISP_MAX_COLORS


def crisp_period(frames: Sequence[NDArray[np.uint8]], axis: int) -> int | None:
    """The exact block size of a lossless (PNG) nearest-neighbour picture, or None when the
    picture is not crisp (noise, blur or JPEG make neighbouring pixels differ)."""
    image = frames[0][..., :3]
    if image.shape[0] < 2 or image.shape[1] < 2:
        return None
    step = 4 if image.shape[1 - axis] > 256 else 1
    if axis == 1:
        same = image[::step, 1:] == image[::step, :-1]
    else:
        same = image[1:, ::step] == image[:-1, ::step]
    if float(np.all(same, axis=-1).mean()) < _CRISP_SHARE:
        return None
    gaps = change_gaps([f[..., :3] for f in frames], axis, step)
    return int(np.gcd.reduce(gaps)) if gaps.size else None


def lossless_lattice(frames: Sequence[NDArray[np.uint8]]) -> tuple[int, int, int, int] | None:
    """``(kx, ky, phase_x, phase_y)`` of a lossless picture's blocks, or None when it is not
    lossless pixel art; ``kx == 1`` or ``ky == 1`` means already true size."""
    if not few_colors(frames[0]):
        return None
    kx, ky = crisp_period(frames, 1), crisp_period(frames, 0)
    if kx is None or ky is None:
        return None
    if kx == 1 or ky == 1:
        return 1, 1, 0, 0
    image = frames[0][..., :3]
    first_x = int(np.flatnonzero(np.any(image[:, 1:] != image[:, :-1], axis=(0, 2)))[0]) + 1
    first_y = int(np.flatnonzero(np.any(image[1:] != image[:-1], axis=(1, 2)))[0]) + 1
    return kx, ky, first_x % kx, first_y % ky
