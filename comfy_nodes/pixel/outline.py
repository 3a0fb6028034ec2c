"""A 1-px outer outline around a sprite's opaque pixels, in a chosen or automatic dark colour.

With a palette the outline takes the palette colour nearest to that wish (in OKLab), so
a palette-locked sprite stays 100 % in its palette after the outline is drawn.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .color import oklab_to_srgb, srgb_to_oklab
from .image_io import check_rgba
from .palette import Palette

__all__ = ["add_outline", "auto_outline_color", "outer_edge", "outline_color_in"]

RGBA = npt.NDArray[np.uint8]
_AUTO_DARKEN = 0.45  # keep this share of the darkest colour's lightness: a shade of it


def outer_edge(opaque: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Transparent pixels that touch an opaque one side-on (4-neighbourhood)."""
    grown = opaque.copy()
    grown[1:, :] |= opaque[:-1, :]
    grown[:-1, :] |= opaque[1:, :]
    grown[:, 1:] |= opaque[:, :-1]
    grown[:, :-1] |= opaque[:, 1:]
    return grown & ~opaque


def auto_outline_color(rgba: RGBA) -> tuple[int, int, int]:
    """A shade of the sprite's darkest colour (same hue, 45 % of its OKLab lightness).

    A fully transparent sprite gets black.
    """
    image = check_rgba(rgba)
    opaque = image[image[..., 3] > 0][:, :3]
    if opaque.shape[0] == 0:
        return (0, 0, 0)
    lab = srgb_to_oklab(np.unique(opaque, axis=0)).astype(np.float64)
    darkest = lab[np.argmin(lab[:, 0])] * _AUTO_DARKEN
    r, g, b = (int(v) for v in oklab_to_srgb(darkest))
    return (r, g, b)


def outline_color_in(palette: Palette, wish: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour of `palette` nearest to `wish` in OKLab (ties: the first one)."""
    lab = palette.lab.astype(np.float64)
    target = srgb_to_oklab(np.array([wish], dtype=np.uint8)).astype(np.float64)[0]
    r, g, b = (int(v) for v in palette.colors[int(np.argmin(((lab - target) ** 2).sum(1)))])
    return (r, g, b)


def add_outline(
    rgba: RGBA, color: tuple[int, int, int] | None = None, palette: Palette | None = None
) -> RGBA:
    """Paint every transparent pixel next to the sprite with an opaque outline colour.

    The canvas does not grow: a sprite touching the border gets no outline on that side.

    Args:
        rgba: ``[H, W, 4]`` uint8 sprite with hard alpha.
        color: outline RGB; None picks `auto_outline_color`.
        palette: the sprite's palette: the outline becomes its colour nearest to `color`
            (or to the automatic shade), so the outline never leaves the palette.

    Returns:
        A new image; the sprite's own pixels are unchanged.
    """
    image = check_rgba(rgba)
    edge = outer_edge(image[..., 3] > 0)
    result = image.copy()
    outline = auto_outline_color(image) if color is None else color
    if palette is not None:
        outline = outline_color_in(palette, outline)
    result[edge] = (*outline, 255)
    return result
