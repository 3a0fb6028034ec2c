"""Tileable textures: a wrap-around seam score per axis, make-seamless, and a tiled preview.

The seam score asks "does the right edge continue into the left edge (and bottom into top)
as smoothly as the tile continues right next to it?". Row by row it takes the OKLab+alpha
step across the wrap seam and, as what that step may be, the larger of the two steps just
beside it (the last two columns, the first two); the score is the mean seam step minus
the mean allowed step, floored at 0: 0 means no visible seam, ~0.1 is a clearly visible
one. Comparing with the columns beside the seam, not with the tile's average step, keeps
a sharp regular feature (bricks, a grid, a terrain border) that the wrap lands on from
being taken for a seam, while a jump that the neighbouring columns do not make still
counts. The same measure scores the join between two different tiles (`join_score`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .color import linear_to_srgb_uint8, srgb_to_linear, srgb_to_oklab
from .dither import dither_to_palette
from .errors import InvalidImageError, InvalidParameterError
from .image_io import MAX_IMAGE_SIDE, check_rgba
from .palette import MAX_PALETTE_COLORS, Palette

__all__ = [
    "MAX_PREVIEW_REPEAT",
    "MIN_SEAMLESS_SIDE",
    "SEAM_THRESHOLD",
    "SeamFix",
    "fix_seams",
    "join_score",
    "make_seamless",
    "seam_score",
    "tile_preview",
]

RGBA = npt.NDArray[np.uint8]
Float64Array = npt.NDArray[np.float64]
MAX_PREVIEW_REPEAT: Final[int] = 8
# A seam score above this is visible at a glance (0.1 is a clearly visible seam); tiles
# over it are made seamless, and a join between two tiles over it is called a mismatch.
SEAM_THRESHOLD: Final[float] = 0.02
# Below this side the half-tile blend has too few pixels to hand one edge over to the other.
MIN_SEAMLESS_SIDE: Final[int] = 4


def _features(image: RGBA) -> Float64Array:
    lab = srgb_to_oklab(image[..., :3]).astype(np.float64)
    alpha = image[..., 3:].astype(np.float64) / 255.0
    # Premultiplied: a transparent pixel has no colour, whatever its RGB bytes say.
    return np.concatenate([lab * alpha, alpha], axis=-1)


def _join_excess(first: Float64Array, second: Float64Array) -> float:
    """Mean step from ``first``'s last column into ``second``'s first column, minus the
    mean of the larger step right beside it, per row (features ``[H, W, 4]``, W >= 2)."""
    seam = np.linalg.norm(first[:, -1] - second[:, 0], axis=-1)
    before = np.linalg.norm(first[:, -1] - first[:, -2], axis=-1)
    after = np.linalg.norm(second[:, 1] - second[:, 0], axis=-1)
    allowed = np.maximum(before, after)
    # Rounded: float noise must not turn a perfect join into a "tiny seam".
    return round(float(max(0.0, seam.mean() - allowed.mean())), 6)


def _axis_score(features: Float64Array) -> float:
    """Seam excess along axis 1 (columns) of ``[H, W, 4]`` features."""
    if features.shape[1] < 2:
        return 0.0
    return _join_excess(features, features)


def join_score(first: RGBA, second: RGBA, axis: int) -> float:
    """How visible the join is where ``second`` follows ``first``: side by side
    (``axis=1``, first on the left) or stacked (``axis=0``, first on top).

    The same measure as `seam_score`, across two tiles instead of one tile's wrap:
    0 means the join looks like any other step inside the tiles.

    Raises:
        InvalidParameterError: ``axis`` not 0 or 1, or the touching sides differ in length.
    """
    if axis not in (0, 1):
        raise InvalidParameterError(f"axis={axis!r} is not 0 (stacked) or 1 (side by side)")
    a = _features(check_rgba(first, "first"))
    b = _features(check_rgba(second, "second"))
    if axis == 0:
        a, b = a.transpose(1, 0, 2), b.transpose(1, 0, 2)
    if min(a.shape[1], b.shape[1]) < 2:
        raise InvalidParameterError(
            "first and second need at least 2 px across the join to compare it with"
        )
    if a.shape[0] != b.shape[0]:
        raise InvalidParameterError(
            f"first and second touch along sides of {a.shape[0]} and {b.shape[0]} px; "
            "they must be the same length"
        )
    return _join_excess(a, b)


def seam_score(rgba: RGBA) -> tuple[float, float]:
    """Wrap-around seam score ``(horizontal, vertical)``; 0 means the tile repeats seamlessly.

    ``horizontal`` compares the last column with the first (the seam you see when tiles sit
    side by side), ``vertical`` the last row with the first.
    """
    features = _features(check_rgba(rgba))
    return _axis_score(features), _axis_score(features.transpose(1, 0, 2))


def _blend_axis(values: Float64Array, axis: int) -> Float64Array:
    # Mix the image with itself rolled by half: the rolled copy is continuous across the
    # wrap edge, the original in the middle; a sin² weight hands one over to the other.
    size = values.shape[axis]
    weight = np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 2
    shape = [1, 1, 1]
    shape[axis] = size
    weight = weight.reshape(shape)
    rolled = np.roll(values, size // 2, axis=axis)
    blended: Float64Array = weight * values + (1.0 - weight) * rolled
    return blended


def make_seamless(rgba: RGBA) -> RGBA:
    """Blend a tile's edges with its own middle so it repeats without a visible seam.

    Blending happens in linear light (premultiplied alpha). A pixel-art input (at most 256
    colours) is mapped back onto its own colours afterwards, and hard alpha stays hard, so
    the result is still clean pixel art.

    Raises:
        InvalidImageError: not an RGBA image, or a side under `MIN_SEAMLESS_SIDE` px.
    """
    image = check_rgba(rgba)
    height, width = image.shape[:2]
    if min(height, width) < MIN_SEAMLESS_SIDE:
        raise InvalidImageError(
            f"image: a {width}x{height} tile is too small to be made seamless; "
            f"the minimum is {MIN_SEAMLESS_SIDE}x{MIN_SEAMLESS_SIDE} px"
        )
    alpha = image[..., 3:].astype(np.float64) / 255.0
    values = np.concatenate([srgb_to_linear(image[..., :3]) * alpha, alpha], axis=-1)
    for axis in (0, 1):
        values = _blend_axis(values, axis)
    new_alpha = values[..., 3]
    colour = values[..., :3] / np.maximum(new_alpha, 1e-6)[..., None]
    result = np.zeros_like(image)
    result[..., :3] = linear_to_srgb_uint8(colour)
    result[..., 3] = np.rint(new_alpha * 255.0).astype(np.uint8)
    if np.isin(image[..., 3], (0, 255)).all():
        result[..., 3] = np.where(new_alpha >= 0.5, 255, 0).astype(np.uint8)
    return _back_to_own_colours(image, result)


@dataclass(frozen=True)
class SeamFix:
    """A tile after `fix_seams`, with its seam scores before and after.

    Attributes:
        tile: The tile (made seamless only when `fixed`).
        before: ``(horizontal, vertical)`` seam score of the input.
        after: The same of `tile`.
        fixed: Whether the tile was over `SEAM_THRESHOLD` and so made seamless.
    """

    tile: RGBA
    before: tuple[float, float]
    after: tuple[float, float]
    fixed: bool

    def to_dict(self) -> dict[str, object]:
        """The scores as JSON-ready values (the tile itself is left out)."""
        return {
            "before": list(self.before),
            "after": list(self.after),
            "made_seamless": self.fixed,
            "threshold": SEAM_THRESHOLD,
        }


def fix_seams(rgba: RGBA, threshold: float = SEAM_THRESHOLD) -> SeamFix:
    """Score a tile's seams and make it seamless when either is over `threshold`.

    Raises:
        InvalidImageError: not an RGBA image, or too small to be made seamless while
            it needs it (see `make_seamless`).
    """
    image = check_rgba(rgba)
    before = seam_score(image)
    if max(before) <= threshold:
        return SeamFix(image, before, before, fixed=False)
    tile = make_seamless(image)
    return SeamFix(tile, before, seam_score(tile), fixed=True)


def _back_to_own_colours(original: RGBA, blended: RGBA) -> RGBA:
    visible = original[original[..., 3] > 0][:, :3]
    own = np.unique(visible, axis=0) if visible.size else np.zeros((0, 3), np.uint8)
    if own.shape[0] == 0 or own.shape[0] > MAX_PALETTE_COLORS:
        blended[blended[..., 3] == 0] = 0
        return blended
    return dither_to_palette(blended, Palette("own", own), "none")


def tile_preview(rgba: RGBA, n: int = 3) -> RGBA:
    """The tile repeated `n` x `n` times, to judge seams by eye.

    Raises:
        InvalidParameterError: `n` outside 1..8 or a preview larger than 8192 per side.
    """
    image = check_rgba(rgba)
    if isinstance(n, bool) or not 1 <= int(n) <= MAX_PREVIEW_REPEAT:
        raise InvalidParameterError(f"n={n!r} is out of range; choose 1..{MAX_PREVIEW_REPEAT}")
    if max(image.shape[:2]) * n > MAX_IMAGE_SIDE:
        raise InvalidParameterError(
            f"n={n} makes a preview over {MAX_IMAGE_SIDE} px per side; choose a smaller n"
        )
    return np.tile(image, (n, n, 1))
