"""A sprite sheet described the way Bevy builds a texture atlas.

Bevy cuts a sheet with ``TextureAtlasLayout::from_grid(tile_size, columns, rows, padding,
offset)`` and indexes the cells left to right, top to bottom. This JSON carries exactly
those arguments, the animations as index ranges with their frame time, and the pivot as
Bevy's sprite anchor, so a game needs no other metadata (``examples/bevy_pixels`` reads it
with serde)::

    {"type": "dgxp_bevy_atlas", "version": 1, "image": "knight.png",
     "tile_size": [32, 48], "columns": 4, "rows": 4, "padding": [0, 0], "offset": [0, 0],
     "frame_count": 16, "pivot": [15, 46], "anchor": [-0.0156, -0.4583],
     "animations": [{"name": "walk_down", "first": 0, "last": 3, "frame_ms": 150,
                     "direction": "forward"}, ...]}

``pivot`` is in tile pixels (y down); ``anchor`` is the same point in Bevy's
``Anchor::Custom`` units (tile centre 0, edges ±0.5, y up), at the pivot pixel's centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .errors import InvalidParameterError
from .pivot import Pivot
from .sheets import FrameTag

__all__ = ["BEVY_ATLAS_TYPE", "bevy_atlas"]

BEVY_ATLAS_TYPE: Final[str] = "dgxp_bevy_atlas"


def _anchor(pivot: Pivot, tile_w: int, tile_h: int) -> list[float]:
    x = (pivot.x + 0.5) / tile_w - 0.5
    y = 0.5 - (pivot.y + 0.5) / tile_h
    return [round(x, 4), round(y, 4)]


def bevy_atlas(
    *,
    image: str,
    tile_size: tuple[int, int],
    columns: int,
    rows: int,
    frame_count: int,
    tags: Sequence[FrameTag],
    frame_ms: int,
    pivot: Pivot,
) -> dict[str, Any]:
    """The atlas JSON of a sheet packed row by row with no padding.

    Args:
        image: The sheet's file name (next to the JSON).
        tile_size: ``(width, height)`` of one frame.
        columns: Frames per row.
        rows: Rows of frames.
        frame_count: Frames actually on the sheet (the last row may be short).
        tags: The animations, as inclusive frame ranges.
        frame_ms: How long each frame shows.
        pivot: The frames' common pivot, in tile pixels.

    Raises:
        InvalidParameterError: a grid that cannot hold ``frame_count`` frames, or a tag
            outside it.
    """
    tile_w, tile_h = tile_size
    if min(tile_w, tile_h, columns, rows, frame_ms) < 1:
        raise InvalidParameterError(
            f"tile_size={tile_size}, columns={columns}, rows={rows}, frame_ms={frame_ms}: "
            "each must be at least 1"
        )
    if not (columns * (rows - 1) < frame_count <= columns * rows):
        raise InvalidParameterError(
            f"frame_count={frame_count} does not fill a {columns}x{rows} grid row by row"
        )
    for tag in tags:
        if not 0 <= tag.first <= tag.last < frame_count:
            raise InvalidParameterError(
                f"tag {tag.name!r} covers frames {tag.first}-{tag.last}, "
                f"outside 0-{frame_count - 1}"
            )
    return {
        "type": BEVY_ATLAS_TYPE,
        "version": 1,
        "image": image,
        "tile_size": [tile_w, tile_h],
        "columns": columns,
        "rows": rows,
        "padding": [0, 0],
        "offset": [0, 0],
        "frame_count": frame_count,
        "pivot": [pivot.x, pivot.y],
        "anchor": _anchor(pivot, tile_w, tile_h),
        "animations": [
            {
                "name": tag.name,
                "first": tag.first,
                "last": tag.last,
                "frame_ms": frame_ms,
                "direction": tag.direction,
            }
            for tag in tags
        ],
    }
