"""An animated GIF that shows a sheet's animations playing, to judge them at a glance.

Animations of equal length play side by side (``walk_down | walk_left | ...``, one GIF
frame per animation frame), so a turn in a walk cycle is seen next to the others; tags of
different lengths, or none, play every frame in sheet order. Frames are scaled up by a
whole factor (nearest neighbour) and keep their exact colours: the GIF palette is the
sheet's own colours plus one transparent entry.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from .errors import InvalidParameterError
from .image_io import check_rgba

__all__ = ["MAX_GIF_COLORS", "preview_frames", "preview_gif"]

RGBA = npt.NDArray[np.uint8]
MAX_GIF_COLORS: Final[int] = 255  # one of GIF's 256 entries is transparency
_GAP: Final[int] = 1  # transparent pixels between animations placed side by side


def _cells(sheet: RGBA, atlas: Mapping[str, Any]) -> tuple[list[RGBA], list[int]]:
    cells, durations = [], []
    for i, entry in enumerate(atlas.get("frames", [])):
        try:
            rect = entry["frame"]
            x, y, w, h = (int(rect[k]) for k in ("x", "y", "w", "h"))
            duration = int(entry.get("duration", 100))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameterError(f"atlas frames[{i}] is malformed: {exc}") from exc
        if x < 0 or y < 0 or x + w > sheet.shape[1] or y + h > sheet.shape[0] or min(w, h) < 1:
            raise InvalidParameterError(
                f"atlas frames[{i}] {rect} lies outside the {sheet.shape[1]}x{sheet.shape[0]} sheet"
            )
        cells.append(sheet[y : y + h, x : x + w])
        durations.append(max(1, duration))
    if not cells:
        raise InvalidParameterError("atlas has no frames; nothing to animate")
    return cells, durations


def _ranges(atlas: Mapping[str, Any], count: int) -> list[range]:
    meta = atlas.get("meta")
    tags = meta.get("frameTags", []) if isinstance(meta, Mapping) else []
    ranges = [range(int(t["from"]), int(t["to"]) + 1) for t in tags if isinstance(t, Mapping)]
    if len(ranges) > 1 and len({len(r) for r in ranges}) == 1 and ranges[-1].stop <= count:
        return ranges
    return [range(count)]


def preview_frames(sheet: RGBA, atlas: Mapping[str, Any]) -> tuple[list[RGBA], list[int]]:
    """The preview's frames (true size) and their durations in ms.

    Raises:
        InvalidParameterError: an atlas without frames, or a frame outside the sheet.
    """
    cells, durations = _cells(check_rgba(sheet, "sheet"), atlas)
    ranges = _ranges(atlas, len(cells))
    h, w = cells[0].shape[:2]
    if len(ranges) == 1 or len({c.shape for c in cells}) > 1:
        return [c.copy() for c in cells], durations
    out, times = [], []
    for step in range(len(ranges[0])):
        canvas = np.zeros((h, len(ranges) * (w + _GAP) - _GAP, 4), dtype=np.uint8)
        for column, frames in enumerate(ranges):
            canvas[:, column * (w + _GAP) : column * (w + _GAP) + w] = cells[frames[step]]
        out.append(canvas)
        times.append(durations[ranges[0][step]])
    return out, times


def _indexed(frames: Sequence[RGBA]) -> tuple[list[Image.Image], bool]:
    """Frames as P images sharing one palette; index 0 is transparent. False when the
    frames hold more colours than a GIF can (they are then quantized by Pillow)."""
    rgb = np.concatenate([f[..., :3][f[..., 3] > 0] for f in frames] + [np.zeros((0, 3), np.uint8)])
    colors = np.unique(rgb, axis=0)
    if len(colors) > MAX_GIF_COLORS:
        return [Image.fromarray(f, "RGBA") for f in frames], False
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[1 : len(colors) + 1] = colors
    keys = colors.astype(np.int64) @ np.array([65536, 256, 1])
    images = []
    for frame in frames:
        packed = frame[..., :3].astype(np.int64) @ np.array([65536, 256, 1])
        index = (np.searchsorted(keys, packed) + 1).astype(np.uint8)
        index[frame[..., 3] == 0] = 0
        image = Image.fromarray(index, "P")
        image.putpalette(palette.tobytes())
        images.append(image)
    return images, True


def preview_gif(sheet: RGBA, atlas: Mapping[str, Any], scale: int = 1) -> bytes:
    """The looping GIF of a sheet's animations (see the module doc).

    Args:
        sheet: The ``[H, W, 4]`` uint8 sheet.
        atlas: Its Aseprite JSON-array atlas (frame rectangles, durations, tags).
        scale: Whole-number enlargement, 1..16.

    Raises:
        InvalidParameterError: a scale out of range or an atlas that does not fit the sheet.
    """
    if isinstance(scale, bool) or not 1 <= scale <= 16:
        raise InvalidParameterError(f"scale={scale} must be a whole number in 1..16")
    frames, durations = preview_frames(sheet, atlas)
    frames = [np.repeat(np.repeat(f, scale, axis=0), scale, axis=1) for f in frames]
    images, exact = _indexed(frames)
    buffer = io.BytesIO()
    extra: dict[str, Any] = {"transparency": 0} if exact else {}
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        disposal=2,  # clear to transparent between frames: no ghost of the last pose
        optimize=False,
        **extra,
    )
    return buffer.getvalue()
