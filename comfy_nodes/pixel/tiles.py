"""Tileable textures: a wrap-around seam score per axis, make-seamless, and a tiled preview.

The seam score asks "does the right edge continue into the left edge (and bottom into top)
as smoothly as neighbouring columns continue into each other inside the tile?". It is the
mean OKLab+alpha step across the wrap seam minus the mean step between interior
neighbours, floored at 0: 0 means no visible seam, ~0.1 is a clearly visible one.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .color import linear_to_srgb_uint8, srgb_to_linear, srgb_to_oklab
from .dither import dither_to_palette
from .errors import InvalidParameterError
from .image_io import MAX_IMAGE_SIDE, check_rgba
from .palette import MAX_PALETTE_COLORS, Palette

__all__ = ["MAX_PREVIEW_REPEAT", "make_seamless", "seam_score", "tile_preview"]

RGBA = npt.NDArray[np.uint8]
Float64Array = npt.NDArray[np.float64]
MAX_PREVIEW_REPEAT: Final[int] = 8


def _features(image: RGBA) -> Float64Array:
    lab = srgb_to_oklab(image[..., :3]).astype(np.float64)
    alpha = image[..., 3:].astype(np.float64) / 255.0
    # Premultiplied: a transparent pixel has no colour, whatever its RGB bytes say.
    return np.concatenate([lab * alpha, alpha], axis=-1)


def _axis_score(features: Float64Array) -> float:
    """Seam excess along axis 1 (columns) of ``[H, W, 4]`` features."""
    if features.shape[1] < 2:
        return 0.0
    seam = np.linalg.norm(features[:, -1] - features[:, 0], axis=-1).mean()
    interior = np.linalg.norm(np.diff(features, axis=1), axis=-1).mean()
    # Rounded: float noise must not turn a perfect tile into a "tiny seam".
    return round(float(max(0.0, seam - interior)), 6)


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
    """
    image = check_rgba(rgba)
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
