"""One source picture to one training image: 1 px per cell, alpha handled, bucket-sized.

The pixel core finds the grid (inputs are often already upscaled) and reads one colour per
cell. sd-scripts trains on RGB, so alpha is flattened onto a key colour; with `mask` the
alpha is also kept as a separate greyscale mask. The sprite is then repeated by a whole
factor and centred in its SDXL bucket (`buckets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.downscale import downscale_to_grid
from comfy_nodes.pixel.grid import GridEstimate, detect_grid
from comfy_nodes.pixel.grid_lossless import few_colors
from training.buckets import Placement, place_in_bucket
from training.errors import DatasetError

__all__ = [
    "MIN_SPRITE_SIDE",
    "BucketImage",
    "parse_key_color",
    "to_bucket",
    "to_cells",
]

MIN_SPRITE_SIDE: Final[int] = 8
_GRID_CONFIDENCE: Final[float] = 0.5  # the pixel core's QA "low grid confidence" bar


@dataclass(frozen=True)
class BucketImage:
    """The training picture (RGB), its alpha mask (same size) and where the sprite sits."""

    rgb: NDArray[np.uint8]
    mask: NDArray[np.uint8]
    placement: Placement


def parse_key_color(text: str) -> tuple[int, int, int]:
    """`#RRGGBB` -> (r, g, b).

    Raises:
        DatasetError: not six hex digits after `#`.
    """
    digits = text.removeprefix("#")
    if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise DatasetError("key_color", text, 'expected "#RRGGBB", e.g. "#FF00FF"')
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _grid_warning(name: str, rgba: NDArray[np.uint8], grid: GridEstimate) -> str | None:
    if grid.already_clean and not few_colors(rgba):
        return f"{name}: no pixel grid and many colours; not pixel art? it is used as is"
    if not grid.already_clean and grid.confidence < _GRID_CONFIDENCE:
        return f"{name}: no clear pixel grid (confidence {grid.confidence:.2f}); check it"
    return None


def to_cells(
    name: str, rgba: NDArray[np.uint8], warnings: list[str]
) -> tuple[NDArray[np.uint8], GridEstimate]:
    """The sprite at 1 px per cell, and the grid it was read with.

    Raises:
        DatasetError: the sprite is smaller than 8 cells on a side.
    """
    grid = detect_grid(rgba)
    warning = _grid_warning(name, rgba, grid)
    if warning is not None:
        warnings.append(warning)
    sprite = downscale_to_grid(rgba, grid)
    height, width = sprite.shape[:2]
    if min(width, height) < MIN_SPRITE_SIDE:
        raise DatasetError(
            name,
            f"{width}x{height}",
            f"the sprite is smaller than {MIN_SPRITE_SIDE} px per side at 1 px per cell; "
            "leave it out",
        )
    return sprite, grid


def to_bucket(name: str, sprite: NDArray[np.uint8], key: tuple[int, int, int]) -> BucketImage:
    """`sprite` repeated by a whole factor and centred in its SDXL bucket, alpha flattened
    onto `key` (transparent pixels and the padding alike)."""
    height, width = sprite.shape[:2]
    placement = place_in_bucket(width, height, name)
    # np.repeat, not the pixel core's upscale_nearest: a 12-px sprite needs 85x (its cap is 64)
    big = np.repeat(np.repeat(sprite, placement.factor, axis=0), placement.factor, axis=1)
    bucket_w, bucket_h = placement.bucket
    canvas = np.zeros((bucket_h, bucket_w, 4), dtype=np.uint8)
    top, left = placement.top, placement.left
    canvas[top : top + big.shape[0], left : left + big.shape[1]] = big
    alpha = canvas[..., 3:4].astype(np.float32) / 255.0
    flat = canvas[..., :3] * alpha + np.asarray(key, np.float32) * (1.0 - alpha)
    rgb = np.clip(np.rint(flat), 0, 255).astype(np.uint8)
    return BucketImage(rgb, canvas[..., 3].copy(), placement)
