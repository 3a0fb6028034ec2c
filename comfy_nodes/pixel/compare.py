"""Side-by-side comparison images: variants of one sprite (base vs LoRA, palette A vs B) in
one row, so they can be judged at a glance from a single file.

Images of different sizes share one row: each keeps its own width, they are aligned on a
common ground line (bottom by default) and separated by `gap` pixels of `background`
(transparent by default). The finished row is enlarged by an integer nearest-neighbour
factor, so a 32-px sprite is visible and every sprite pixel stays a crisp block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt

from .errors import InvalidParameterError
from .image_io import MAX_IMAGE_SIDE, check_rgba
from .palette import parse_hex_color
from .upscale import MAX_UPSCALE_FACTOR, upscale_nearest

__all__ = [
    "AUTO_SCALE",
    "AUTO_SCALE_TARGET_PX",
    "MAX_GAP",
    "TRANSPARENT",
    "VerticalAlign",
    "auto_scale",
    "parse_background",
    "pixelize_comparison",
    "side_by_side",
    "zip_batches",
]

RGBA = npt.NDArray[np.uint8]
RGBAColor = tuple[int, int, int, int]
VerticalAlign = Literal["bottom", "center", "top"]

AUTO_SCALE: Final[int] = 0
"""`scale` value that picks the factor from the row's size (see `auto_scale`)."""
AUTO_SCALE_TARGET_PX: Final[int] = 256
_AUTO_SCALE_MAX: Final[int] = 16
MAX_GAP: Final[int] = 256
TRANSPARENT: Final[RGBAColor] = (0, 0, 0, 0)

# Top row of an image of height h in a row of height room, per alignment.
_TOP_OFFSET: Final[dict[VerticalAlign, Callable[[int, int], int]]] = {
    "bottom": lambda room, h: room - h,
    "center": lambda room, h: (room - h) // 2,
    "top": lambda room, h: 0,
}


def auto_scale(width: int, height: int, target: int = AUTO_SCALE_TARGET_PX) -> int:
    """Integer factor that makes the row about `target` px tall (1..16), never wider than
    the 8192-px image limit."""
    factor = max(1, min(_AUTO_SCALE_MAX, target // max(1, height)))
    return max(1, min(factor, MAX_IMAGE_SIDE // max(1, width, height)))


def parse_background(text: str) -> RGBAColor:
    """``"transparent"`` (or empty) as ``(0, 0, 0, 0)``; ``#rrggbb`` / ``#rgb`` as opaque.

    Raises:
        InvalidPaletteError: neither "transparent" nor a hex colour.
    """
    if text.strip().lower() in ("", "transparent", "none"):
        return TRANSPARENT
    return (*parse_hex_color(text), 255)


def _check_options(gap: int, background: Sequence[int], scale: int, align: str) -> None:
    if isinstance(gap, bool) or not 0 <= int(gap) <= MAX_GAP:
        raise InvalidParameterError(f"gap={gap!r} is out of range; choose 0..{MAX_GAP} pixels")
    if len(background) != 4 or any(not 0 <= int(v) <= 255 for v in background):
        raise InvalidParameterError(
            f"background={tuple(background)!r} is not an RGBA colour; give 4 values 0..255"
        )
    if isinstance(scale, bool) or not 0 <= int(scale) <= MAX_UPSCALE_FACTOR:
        raise InvalidParameterError(
            f"scale={scale!r} is out of range; choose {AUTO_SCALE} (auto) or "
            f"1..{MAX_UPSCALE_FACTOR}"
        )
    if align not in _TOP_OFFSET:
        raise InvalidParameterError(
            f"align={align!r} is unknown; choose one of {', '.join(get_args(VerticalAlign))}"
        )


def _over(image: RGBA, below: RGBA) -> RGBA:
    """`image` composited over `below` (straight alpha); fully transparent results are
    written (0, 0, 0, 0), like the rest of the pixel core."""
    top = image.astype(np.float64) / 255.0
    under = below.astype(np.float64) / 255.0
    top_a, under_a = top[..., 3:], under[..., 3:] * (1.0 - top[..., 3:])
    alpha = top_a + under_a
    rgb = np.divide(
        top[..., :3] * top_a + under[..., :3] * under_a,
        alpha,
        out=np.zeros_like(top[..., :3]),
        where=alpha > 0,
    )
    return np.rint(np.concatenate([rgb, alpha], axis=-1) * 255.0).astype(np.uint8)


def side_by_side(
    frames: Sequence[RGBA],
    gap: int = 1,
    background: Sequence[int] = TRANSPARENT,
    scale: int = 1,
    align: VerticalAlign = "bottom",
) -> RGBA:
    """Put `frames` in one row, left to right, and enlarge the row.

    Args:
        frames: One or more RGBA images, any sizes.
        gap: Pixels of `background` between neighbours (in sprite pixels: the gap is
            enlarged with the row).
        background: RGBA fill of the canvas; images are composited over it.
        scale: Nearest-neighbour factor 1..64, or `AUTO_SCALE` (0) for `auto_scale`.
        align: Where a shorter image sits: "bottom" (a shared ground line), "center", "top".

    Returns:
        The row, ``[max height * f, (sum of widths + gaps) * f, 4]``.

    Raises:
        InvalidImageError: a frame is not RGBA uint8.
        InvalidParameterError: no frames, an option out of range, or a row over 8192 px.
    """
    _check_options(gap, background, scale, align)
    checked = [check_rgba(frame, f"frames[{i}]") for i, frame in enumerate(frames)]
    if not checked:
        raise InvalidParameterError("frames is empty; give at least one image to compare")
    height = max(frame.shape[0] for frame in checked)
    width = sum(frame.shape[1] for frame in checked) + gap * (len(checked) - 1)
    canvas = np.empty((height, width, 4), dtype=np.uint8)
    canvas[:] = np.asarray(background, dtype=np.uint8)
    offset, x = _TOP_OFFSET[align], 0
    for frame in checked:
        h, w = frame.shape[:2]
        top = offset(height, h)
        canvas[top : top + h, x : x + w] = _over(frame, canvas[top : top + h, x : x + w])
        x += w + gap
    factor = auto_scale(width, height) if scale == AUTO_SCALE else int(scale)
    return upscale_nearest(canvas, factor)


def zip_batches(batches: Mapping[str, Sequence[RGBA]]) -> list[list[RGBA]]:
    """Rows to compare from named batches: row i holds image i of every batch, and a batch
    of one image is repeated in every row (one base against a batch of variants).

    Args:
        batches: ``{input name: its images}``, in left-to-right order.

    Raises:
        InvalidParameterError: a batch is empty, or two batches of more than one image
            differ in size.
    """
    for name, frames in batches.items():
        if not frames:
            raise InvalidParameterError(f"{name} has no images; connect a non-empty batch")
    sizes = {name: len(frames) for name, frames in batches.items()}
    rows = max(sizes.values(), default=0)
    uneven = {name: n for name, n in sizes.items() if n not in (1, rows)}
    if uneven:
        raise InvalidParameterError(
            f"batch sizes {sizes} do not pair up; give every input the same batch size, "
            "or a single image to repeat on every row"
        )
    return [
        [frames[i if len(frames) > 1 else 0] for frames in batches.values()] for i in range(rows)
    ]


def _swatch(colors: npt.NDArray[np.uint8], height: int) -> RGBA:
    """The palette as square cells, column by column, about `height` px tall."""
    count = max(1, len(colors))
    rows = max(1, min(count, height // 8))  # cells at least 8 px
    cell = max(1, height // rows)
    columns = -(-count // rows)
    swatch = np.zeros((rows * cell, columns * cell, 4), dtype=np.uint8)
    for i, colour in enumerate(colors):
        r, c = i % rows, i // rows
        swatch[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell, :3] = colour[:3]
        swatch[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell, 3] = 255
    return swatch


def pixelize_comparison(
    source: RGBA, sprite: RGBA, palette: npt.NDArray[np.uint8], gap: int = 8
) -> RGBA:
    """Input | sprite | palette swatch in one row, at the input's height.

    The sprite is enlarged by the largest whole factor that keeps it within the input's
    height (nearest neighbour, so its pixels stay square); the swatch shows each palette
    colour as a square, in columns, as tall as the input.

    Args:
        source: The picture that was pixelized (RGBA).
        sprite: The finished sprite (RGBA).
        palette: ``[K, 3]`` uint8 colours of the sprite's palette (may be empty).
        gap: Transparent pixels between the three parts.

    Raises:
        InvalidImageError: `source` or `sprite` is not RGBA uint8.
        InvalidParameterError: the row would pass 8192 px.
    """
    source = check_rgba(source, "source")
    sprite = check_rgba(sprite, "sprite")
    height = source.shape[0]
    factor = max(1, min(MAX_UPSCALE_FACTOR, height // max(1, sprite.shape[0])))
    big = upscale_nearest(sprite, factor)
    parts = [source, big]
    if len(palette):
        parts.append(_swatch(np.asarray(palette, dtype=np.uint8).reshape(-1, 3), height))
    return side_by_side(parts, gap=gap, scale=1)
