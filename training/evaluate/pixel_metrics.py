"""Pixel-art metrics of a generated sprite, all from the pixel core (`comfy_nodes.pixel`).

- grid confidence: how strongly the full-size render's edges agree with one pixel lattice
  (`detect_grid`; 1.0 is a clean grid). A pixel-art LoRA should raise it.
- colour count: distinct opaque colours of the delivered sprite (`count_colors`).
- palette distance: the mean OKLab distance from each opaque sprite pixel to the nearest
  colour of the training set (0: every colour is a training colour). The pixel core treats
  colours closer than `DEFAULT_JND` (0.05) as one.
- round-trip error: the render pixelized (grid, one colour per cell, auto palette, nothing
  removed) and painted back over its own grid, against the render: mean absolute error per
  RGB channel, 0..255. 0 means the render already was exact pixel art.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.color import srgb_to_oklab
from comfy_nodes.pixel.grid import GridEstimate, detect_grid
from comfy_nodes.pixel.image_io import check_rgba
from comfy_nodes.pixel.palette_size import DEFAULT_JND
from comfy_nodes.pixel.pipeline import PixelizeOptions, pixelize
from comfy_nodes.pixel.qa import count_colors

__all__ = [
    "DEFAULT_JND",
    "PixelMetrics",
    "grid_confidence",
    "palette_distance",
    "pixel_metrics",
    "roundtrip_error",
]

Rgba = NDArray[np.uint8]


@dataclass(frozen=True)
class PixelMetrics:
    """The pixel-art figures of one generated sprite (see the module docstring).

    Attributes:
        grid_confidence: 0..1 for the full-size render.
        colors: Distinct opaque colours of the sprite.
        palette_distance: Mean OKLab distance to the training colours; None without them.
        roundtrip_error: Mean absolute RGB error of the pixelize round trip, 0..255.
    """

    grid_confidence: float
    colors: int
    palette_distance: float | None
    roundtrip_error: float


def grid_confidence(render: Rgba) -> float:
    """How strongly `render` shows one pixel lattice, 0..1 (`detect_grid`)."""
    return float(detect_grid(check_rgba(render, "render")).confidence)


def palette_distance(sprite: Rgba, training_colors: NDArray[np.uint8]) -> float:
    """Mean OKLab distance from each opaque pixel of `sprite` to its nearest training colour.

    Args:
        sprite: RGBA uint8.
        training_colors: [N, 3] uint8 colours of the training set (N >= 1).

    Returns:
        The mean distance; 0.0 when the sprite has no opaque pixel.
    """
    opaque = check_rgba(sprite, "sprite")[..., 3] > 0
    if not opaque.any():
        return 0.0
    colors, counts = np.unique(sprite[..., :3][opaque], axis=0, return_counts=True)
    lab = srgb_to_oklab(colors).astype(np.float64)
    pal = srgb_to_oklab(np.asarray(training_colors, dtype=np.uint8)).astype(np.float64)
    nearest = np.sqrt(((lab[:, None, :] - pal[None, :, :]) ** 2).sum(-1)).min(axis=1)
    return float((nearest * counts).sum() / counts.sum())


def _cell_index(lines: NDArray[np.float64], length: int, cells: int) -> NDArray[np.intp]:
    centres = np.arange(length, dtype=np.float64) + 0.5
    index = np.searchsorted(lines, centres, side="right") - 1
    return np.clip(index, 0, cells - 1).astype(np.intp)


def _painted(sprite: Rgba, grid: GridEstimate, height: int, width: int) -> Rgba:
    rows = _cell_index(grid.lines_y(), height, sprite.shape[0])
    cols = _cell_index(grid.lines_x(), width, sprite.shape[1])
    return sprite[rows][:, cols]


def roundtrip_error(render: Rgba) -> float:
    """Mean absolute RGB error (0..255) of `render` against its pixelized self painted back."""
    render = check_rgba(render, "render")
    result = pixelize(render, PixelizeOptions(remove_background="none"))
    painted = _painted(result.sprite, result.grid, *render.shape[:2])
    diff = painted[..., :3].astype(np.int16) - render[..., :3].astype(np.int16)
    return float(np.abs(diff).mean())


def pixel_metrics(
    render: Rgba, sprite: Rgba, training_colors: NDArray[np.uint8] | None
) -> PixelMetrics:
    """Every pixel-art figure of one generation.

    Args:
        render: The full-size render the sprite was made from.
        sprite: The delivered (pixelized) sprite.
        training_colors: [N, 3] colours of the training set, or None (no distance then).
    """
    distance = None if training_colors is None else palette_distance(sprite, training_colors)
    return PixelMetrics(
        grid_confidence=grid_confidence(render),
        colors=count_colors(check_rgba(sprite, "sprite")),
        palette_distance=distance,
        roundtrip_error=roundtrip_error(render),
    )
