"""Downscale pseudo pixel art onto a detected (or given) grid: one colour per cell.

Each cell is read from a small lattice of samples in its inner part (the outer ~20 % on
every side is where blur, anti-aliasing, wobble and JPEG ringing live), then reduced to one
colour by the chosen mode:

- ``robust``: the mean of the samples near the per-channel median (stray pixels, noise and
  gradients inside the cell pull it much less than a mean, and it is not limited to one
  noisy sample like a medoid);
- ``median``: per-channel median of the samples;
- ``mean``: plain mean of the samples;
- ``center``: the single pixel nearest the cell centre.

Alpha, when present, is the per-cell median of the samples' alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from numpy.typing import NDArray

from .errors import GridDoesNotFitError, InvalidImageError
from .grid import GridEstimate
from .modes import DOWNSCALE_MODES, DownscaleMode

__all__ = ["DOWNSCALE_MODES", "DownscaleMode", "downscale_to_grid", "sample_cells"]


_INNER = 0.6
_MAX_SAMPLES = 5
#: L1 distance over RGB that sensor/JPEG noise alone reaches; never trimmed below it.
_NOISE_FLOOR = 24.0

Samples = NDArray[np.float32]
Reducer = Callable[[Samples], Samples]


def _sample_positions(lines: NDArray[np.float64], length: int, inner: float) -> NDArray[np.intp]:
    """Integer sample coordinates ``[cells, m]`` inside the inner part of each cell."""
    widths = np.diff(lines)
    m = int(np.clip(np.round(inner * float(np.median(widths))), 1, _MAX_SAMPLES))
    frac = (1.0 - inner) / 2.0 + inner * (np.arange(m) + 0.5) / m
    pos = lines[:-1, None] + widths[:, None] * frac[None, :]
    return np.clip(np.floor(pos).astype(np.intp), 0, length - 1)


def sample_cells(
    image: NDArray[np.uint8], grid: GridEstimate, inner: float = _INNER
) -> NDArray[np.uint8]:
    """Samples of every cell, ``[rows, cols, n, C]`` uint8, read from the cells' inner part."""
    h, w, ch = image.shape
    xs = _sample_positions(grid.lines_x(), w, inner)
    ys = _sample_positions(grid.lines_y(), h, inner)
    # One flat gather is much faster than 4-D fancy indexing.
    flat = (ys[:, None, :, None] * w + xs[None, :, None, :]).reshape(ys.shape[0], xs.shape[0], -1)
    return np.asarray(np.take(image.reshape(-1, ch), flat, axis=0), dtype=np.uint8)


def _robust(s: Samples) -> Samples:
    """Mean of the cell's majority: two trimming passes, each keeping samples near the
    current mean (a mean-shift towards the dominant colour), with a floor for sensor noise."""
    shape = s.shape
    n = shape[-2]
    # [channel, sample, cell]: every step is a whole-array operation over the cells. The
    # samples are whole numbers, so their sums are exact in any order; the one sum of
    # fractions (the spread) runs over a contiguous sample axis, as it always did, so the
    # result is bit for bit what a per-cell loop gives.
    st = np.ascontiguousarray(s.reshape(-1, n, shape[-1]).transpose(2, 1, 0))
    mu = st.sum(axis=1) / np.float32(n)
    keep = np.ones(st.shape[1:], dtype=np.float32)
    for factor in (1.5, 2.0):
        d = np.abs(st[0] - mu[0])
        for channel in range(1, st.shape[0]):
            d += np.abs(st[channel] - mu[channel])
        kept = np.maximum(keep.sum(axis=0), 1.0)
        spread = np.ascontiguousarray((d * keep).T).sum(axis=1) / kept
        keep = (d <= np.maximum(factor * spread, _NOISE_FLOOR)).astype(np.float32)
        mu = (st * keep).sum(axis=1) / np.maximum(keep.sum(axis=0), 1.0)
    return np.asarray(mu.T.reshape(*shape[:-2], shape[-1]), dtype=np.float32)


def _median(s: Samples) -> Samples:
    return np.asarray(np.median(s, axis=-2), dtype=np.float32)


def _mean(s: Samples) -> Samples:
    return np.asarray(s.mean(axis=-2), dtype=np.float32)


def _center(s: Samples) -> Samples:
    return np.asarray(s[..., s.shape[-2] // 2, :], dtype=np.float32)


_REDUCERS: dict[DownscaleMode, Reducer] = {
    "robust": _robust,
    "median": _median,
    "mean": _mean,
    "center": _center,
}


def _check(image: NDArray[np.uint8], grid: GridEstimate, mode: str) -> None:
    DOWNSCALE_MODES.parse(mode)
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidImageError(
            f"image: expected uint8 [H, W, 3|4], got shape {getattr(image, 'shape', None)}"
        )
    h, w = image.shape[:2]
    if h < 1 or w < 1:
        raise InvalidImageError(f"image: empty image of shape {image.shape[:2]}")
    if grid.cols < 1 or grid.rows < 1 or grid.cols > w or grid.rows > h:
        raise GridDoesNotFitError(
            f"grid: {grid.cols}x{grid.rows} cells do not fit a {w}x{h} image; "
            "detect the grid again or ask for fewer cells"
        )


def downscale_to_grid(
    image: NDArray[np.uint8], grid: GridEstimate, mode: str = "robust"
) -> NDArray[np.uint8]:
    """One colour per grid cell.

    Args:
        image: uint8 ``[H, W, 3|4]``.
        grid: The lattice to read (from ``grid.detect_grid`` or ``grid.grid_from_size``).
        mode: One of ``DOWNSCALE_MODES``.

    Returns:
        uint8 RGBA ``[rows, cols, 4]``; alpha 255 where the input had none.

    Raises:
        InvalidParameterError: unknown mode (the message lists the valid ones).
        InvalidImageError: not a uint8 ``[H, W, 3|4]`` image.
        GridDoesNotFitError: more cells than pixels.
    """
    _check(image, grid, mode)
    if grid.already_clean and grid.cols == image.shape[1] and grid.rows == image.shape[0]:
        return _as_rgba(image)
    samples = sample_cells(image, grid)
    reduce = _REDUCERS[cast(DownscaleMode, DOWNSCALE_MODES.parse(mode))]
    rgb = reduce(samples[..., :3].astype(np.float32))
    out = np.empty((grid.rows, grid.cols, 4), dtype=np.uint8)
    out[..., :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if image.shape[2] == 4:
        out[..., 3] = np.median(samples[..., 3], axis=-1).astype(np.uint8)
    else:
        out[..., 3] = 255
    return out


def _as_rgba(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if image.shape[2] == 4:
        return image.copy()
    alpha = np.full((*image.shape[:2], 1), 255, dtype=np.uint8)
    return np.concatenate([image, alpha], axis=2)
