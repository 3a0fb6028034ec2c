"""Automatic palette size: how many colours a sprite really has, read from its cells.

Pseudo pixel art holds a handful of flat colours, blurred, noised and compressed into
thousands of shades. Asking k-means for a fixed 16 splits a 5-colour sprite into shades of
each colour. Here the palette size comes from the picture:

1. over-segment the cell colours with k-means (more clusters than any sprite needs);
2. merge clusters closer than a just-noticeable difference in OKLab, nearest pair first,
   so shades of one colour become one colour again;
3. fold a small cluster lying between two larger ones (a blend where cells straddle an
   edge) into the nearer of the two; any other small cluster is a 1-px detail and stays.

The result is the palette itself (the merged cluster means) and a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .color import oklab_to_srgb, srgb_to_oklab
from .palette import Palette
from .quantize import build_palette

__all__ = ["DEFAULT_JND", "PaletteChoice", "auto_palette", "distinct_colors"]

Rgba = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]

#: OKLab distance under which two cluster colours read as one (a just-noticeable step,
#: widened for noise and JPEG).
DEFAULT_JND: Final[float] = 0.05
#: Clusters of the first, over-segmenting pass.
_OVERSEGMENT: Final[int] = 40
#: A cluster with at most this share of the cells is small (a detail or a blend).
_SMALL_SHARE: Final[float] = 0.02
#: A blend lies between two colours, this far from either end of the segment (0..0.5).
_BLEND_MARGIN: Final[float] = 0.15
#: ... and this close to the segment, as a share of the JND.
_BLEND_OFF: Final[float] = 0.3
_BIN: Final[int] = 4  # k-means sees 6-bit colours: fewer points, same clusters


@dataclass(frozen=True)
class PaletteChoice:
    """The palette picked for a set of cells and why.

    Attributes:
        palette: The chosen colours.
        reason: One sentence for the QA report.
    """

    palette: Palette
    reason: str


def _binned(cells: Sequence[Rgba]) -> list[Rgba]:
    out = []
    for c in cells:
        b = c.copy()
        b[..., :3] = (c[..., :3] & ~np.uint8(_BIN - 1)) + np.uint8(_BIN // 2)
        out.append(b)
    return out


def _opaque_colors(cells: Sequence[Rgba]) -> tuple[npt.NDArray[np.uint8], Floats]:
    rgb = np.concatenate([c[..., :3][c[..., 3] >= 128] for c in cells])
    packed = (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
    keys, counts = np.unique(packed, return_counts=True)
    colors = np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=1)
    return colors.astype(np.uint8), counts.astype(np.float64)


def _seed_centers(binned: Sequence[Rgba], distinct: int, seed: int) -> Floats:
    k = max(2, min(_OVERSEGMENT, distinct))
    return srgb_to_oklab(build_palette(binned, k, "kmeans", seed).colors).astype(np.float64)


def _assign(points: Floats, weights: Floats, centers: Floats) -> tuple[Floats, Floats]:
    """Weighted means and masses of the points nearest each centre (empty ones dropped)."""
    d = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    label = d.argmin(axis=1)
    mass = np.bincount(label, weights=weights, minlength=len(centers)).astype(np.float64)
    sums = np.stack([np.bincount(label, points[:, i] * weights, len(centers)) for i in range(3)], 1)
    keep = mass > 0
    return sums[keep] / mass[keep, None], mass[keep]


def _merge_close(centers: Floats, mass: Floats, jnd: float) -> tuple[Floats, Floats]:
    """Merge the closest pair while it is closer than ``jnd`` (one distance row updated per
    merge, not the whole matrix)."""
    centers, mass = centers.copy(), mass.copy()
    alive = np.ones(len(centers), dtype=bool)
    d = np.sqrt(((centers[:, None] - centers[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    while alive.sum() > 1:
        i, j = np.unravel_index(int(d.argmin()), d.shape)
        if d[i, j] >= jnd:
            break
        total = mass[i] + mass[j]
        centers[i] = (centers[i] * mass[i] + centers[j] * mass[j]) / total
        mass[i], alive[j] = total, False
        d[j, :] = d[:, j] = np.inf
        row = np.where(alive, np.sqrt(((centers - centers[i]) ** 2).sum(-1)), np.inf)
        row[i] = np.inf
        d[i, :] = d[:, i] = row
    return centers[alive], mass[alive]


def _is_blend(c: Floats, a: Floats, b: Floats, jnd: float) -> bool:
    ab = b - a
    length2 = float(ab @ ab)
    if length2 <= 0.0:
        return False
    t = float((c - a) @ ab) / length2
    off = float(np.linalg.norm(a + t * ab - c))
    return _BLEND_MARGIN <= t <= 1.0 - _BLEND_MARGIN and off < _BLEND_OFF * jnd


def _fold_blends(centers: Floats, mass: Floats, jnd: float) -> tuple[Floats, Floats, int]:
    small = mass <= _SMALL_SHARE * mass.sum()
    big = np.flatnonzero(~small)
    folded = np.zeros(len(centers), dtype=bool)
    for s in np.flatnonzero(small):
        pairs = ((a, b) for n, a in enumerate(big) for b in big[n + 1 :])
        if any(_is_blend(centers[s], centers[a], centers[b], jnd) for a, b in pairs):
            nearest = big[np.argmin(((centers[big] - centers[s]) ** 2).sum(-1))]
            mass[nearest] += mass[s]
            folded[s] = True
    return centers[~folded], mass[~folded], int(folded.sum())


def distinct_colors(palette: Palette, jnd: float = DEFAULT_JND) -> int:
    """How many of a palette's colours stay apart once shades closer than ``jnd`` are one
    (a cheap check of a palette of a forced size)."""
    lab = srgb_to_oklab(palette.colors).astype(np.float64)
    return len(_merge_close(lab, np.ones(len(lab)), jnd)[0])


def auto_palette(cells: Sequence[Rgba], seed: int = 0, jnd: float = DEFAULT_JND) -> PaletteChoice:
    """Pick the palette size and colours from the cells (see the module doc).

    Args:
        cells: Grid-exact RGBA sprites (one colour per cell) that share the palette; at
            least one must have an opaque pixel. Colours are read on a 6-bit lattice (the
            caller may refine the palette on the exact cell colours).
        seed: Seed of the over-segmenting k-means.
        jnd: OKLab distance under which clusters merge.
    """
    binned = _binned(cells)
    colors, counts = _opaque_colors(binned)
    points = srgb_to_oklab(colors).astype(np.float64)
    # 1. over-segment
    centers, mass = _assign(points, counts, _seed_centers(binned, len(colors), seed))
    first = len(centers)
    # 2. merge shades, then re-read the means from the cells
    centers, mass = _merge_close(centers, mass, jnd)
    centers, mass = _assign(points, counts, centers)
    # 3. fold blends; the rest of the small clusters are details
    centers, mass, folded = _fold_blends(centers, mass, jnd)
    centers, mass = _assign(points, counts, centers)
    details = int((mass <= _SMALL_SHARE * mass.sum()).sum())
    rgb = np.unique(oklab_to_srgb(centers), axis=0)
    reason = (
        f"auto: {len(rgb)} colours ({first} k-means clusters merged where closer than "
        f"ΔE {jnd:g} OKLab; {folded} edge blends folded; {details} small detail colours kept)"
    )
    return PaletteChoice(Palette(name=f"auto-{len(rgb)}", colors=rgb), reason)
