"""Catch a lattice fitted at a fraction of the true cell size.

Blur, wobble and noise can make the edge spectrum favour a sub-multiple of the cell size
(a 33 px cell read as four 8 px cells). On such a lattice, colour changes between
neighbouring cells happen only on every m-th boundary, at one phase: the cells come in
m × m blocks of one colour. Reading the cell centres and counting where the changes fall
finds that m, and the true lattice is m times coarser.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["coarser_multiple"]

_MAX_MULTIPLE: Final[int] = 8
#: A colour step between neighbouring cell centres (sum of |ΔRGB|) that counts as a change.
_CHANGE: Final[int] = 48
#: Share of all changes that must fall on one phase of every m-th boundary.
_ON_PHASE: Final[float] = 0.92
#: Fewer changes than this along an axis say nothing.
_MIN_CHANGES: Final[int] = 24


def _changes(cells: NDArray[np.int16], axis: int) -> NDArray[np.int64]:
    """Changes across each boundary between neighbouring cells along ``axis``."""
    step = np.abs(np.diff(cells, axis=axis)).sum(axis=-1) > _CHANGE
    return np.asarray(step.sum(axis=1 - axis), dtype=np.int64)


def _best_phase(counts: NDArray[np.int64], m: int) -> tuple[int, float]:
    total = float(counts.sum())
    shares = [float(counts[r::m].sum()) / total for r in range(m)]
    r = int(np.argmax(shares))
    return r, shares[r]


def coarser_multiple(
    image: NDArray[np.uint8], xs: NDArray[np.float64], ys: NDArray[np.float64]
) -> tuple[int, int, int] | None:
    """``(m, first_x, first_y)`` when the lattice with boundaries ``xs``/``ys`` is ``m``
    times too fine: cell boundaries ``first_x + k·m`` (and ``first_y + k·m``, indices into
    ``xs``/``ys``) are the true ones. None when the lattice is right."""
    cx = np.clip(((xs[:-1] + xs[1:]) / 2).astype(np.intp), 0, image.shape[1] - 1)
    cy = np.clip(((ys[:-1] + ys[1:]) / 2).astype(np.intp), 0, image.shape[0] - 1)
    cells = image[cy[:, None], cx[None, :], :3].astype(np.int16)
    along_x, along_y = _changes(cells, 1), _changes(cells, 0)
    if min(int(along_x.sum()), int(along_y.sum())) < _MIN_CHANGES:
        return None
    for m in range(_MAX_MULTIPLE, 1, -1):
        if min(len(along_x), len(along_y)) < 2 * m:
            continue
        rx, share_x = _best_phase(along_x, m)
        ry, share_y = _best_phase(along_y, m)
        if min(share_x, share_y) >= _ON_PHASE:
            # change r lies between cells r and r+1: the true boundary is xs[r + 1]
            return m, (rx + 1) % m, (ry + 1) % m
    return None
