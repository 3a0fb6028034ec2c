"""Sprite sheets: slice a sheet into cells, pack frames into a sheet with an Aseprite atlas,
and pixelize a set of frames so they share one grid, phase and palette.

The atlas follows Aseprite's "JSON array" export (`frames` with `frame`, `sourceSize`,
`duration`; `meta.frameTags` with `from`/`to`/`direction`), which game engines and
loaders such as bevy_aseprite and Phaser already read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import numpy as np
import numpy.typing as npt

from .errors import GridDoesNotFitError, InvalidParameterError
from .image_io import check_rgba

if TYPE_CHECKING:
    from .pipeline import BatchResult, PixelizeOptions

__all__ = [
    "DEFAULT_FRAME_MS",
    "FrameTag",
    "TagDirection",
    "pack_sheet",
    "parse_tags",
    "pixelize_frames",
    "slice_sheet",
]

RGBA = npt.NDArray[np.uint8]
TagDirection = Literal["forward", "reverse", "pingpong"]
DEFAULT_FRAME_MS: Final[int] = 100
_TAG_PATTERN: Final = re.compile(r"^\s*([^:]+?)\s*:\s*(\d+)\s*(?:-\s*(\d+))?\s*(?::\s*(\w+))?\s*$")


@dataclass(frozen=True)
class FrameTag:
    """A named frame range (an animation), inclusive on both ends, like Aseprite's tags."""

    name: str
    first: int
    last: int
    direction: TagDirection = "forward"

    def to_aseprite(self) -> dict[str, Any]:
        """This tag as an entry of Aseprite's ``meta.frameTags``."""
        return {"name": self.name, "from": self.first, "to": self.last, "direction": self.direction}


def parse_tags(text: str) -> tuple[FrameTag, ...]:
    """Parse ``"walk:0-3, idle:4-5:pingpong, hit:6"`` into frame tags ("" gives none).

    Raises:
        InvalidParameterError: a malformed entry, a reversed range or an unknown direction.
    """
    tags: list[FrameTag] = []
    for entry in filter(str.strip, text.split(",")):
        match = _TAG_PATTERN.match(entry)
        if match is None:
            raise InvalidParameterError(
                f"tags entry {entry.strip()!r} is malformed; write name:first-last[:direction], "
                'e.g. "walk:0-3, idle:4-5:pingpong"'
            )
        name, first, last, direction = match.groups()
        direction = direction or "forward"
        if direction not in get_args(TagDirection):
            raise InvalidParameterError(
                f"tags entry {entry.strip()!r}: direction {direction!r} is unknown; choose one of: "
                + ", ".join(get_args(TagDirection))
            )
        tag = FrameTag(name, int(first), int(last if last is not None else first), direction)  # type: ignore[arg-type]
        if tag.last < tag.first:
            raise InvalidParameterError(f"tags entry {entry.strip()!r}: range runs backwards")
        tags.append(tag)
    return tuple(tags)


def slice_sheet(sheet: RGBA, columns: int, rows: int, *, skip_empty: bool = False) -> list[RGBA]:
    """Cut a sheet into ``columns`` x ``rows`` equal cells, row by row.

    Args:
        sheet: ``[H, W, 4]`` uint8 sheet.
        columns: cells across; the width must divide evenly.
        rows: cells down; the height must divide evenly.
        skip_empty: drop fully transparent cells (unused slots at the end of a sheet).

    Raises:
        GridDoesNotFitError: the sheet does not split evenly into that grid.
    """
    image = check_rgba(sheet, "sheet")
    height, width = image.shape[:2]
    for argument, count, side, label in (
        ("columns", columns, width, "width"),
        ("rows", rows, height, "height"),
    ):
        if isinstance(count, bool) or count < 1 or side % count:
            raise GridDoesNotFitError(
                f"{argument}={count} does not split the sheet's {label} of {side} px evenly; "
                f"choose a divisor of {side}"
            )
    cell_h, cell_w = height // rows, width // columns
    cells = [
        image[r * cell_h : (r + 1) * cell_h, c * cell_w : (c + 1) * cell_w].copy()
        for r in range(rows)
        for c in range(columns)
    ]
    return [cell for cell in cells if not skip_empty or cell[..., 3].any()]


def _durations(count: int, durations_ms: int | Sequence[int] | None) -> list[int]:
    if durations_ms is None:
        return [DEFAULT_FRAME_MS] * count
    values = [durations_ms] * count if isinstance(durations_ms, int) else list(durations_ms)
    if len(values) != count:
        raise InvalidParameterError(
            f"durations_ms has {len(values)} entries for {count} frames; give one per frame"
        )
    if any(value < 1 for value in values):
        raise InvalidParameterError(f"durations_ms={values} must all be at least 1 ms")
    return values


def _checked_frames(frames: Sequence[RGBA]) -> list[RGBA]:
    if not frames:
        raise InvalidParameterError("frames is empty; give at least one frame to pack")
    checked = [check_rgba(frame, f"frames[{i}]") for i, frame in enumerate(frames)]
    sizes = {frame.shape[:2] for frame in checked}
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for h, w in sorted(sizes))
        raise InvalidParameterError(
            f"frames have different sizes ({listed}); pixelize them together so they share a grid"
        )
    return checked


def pack_sheet(
    frames: Sequence[RGBA],
    columns: int = 0,
    durations_ms: int | Sequence[int] | None = None,
    tags: Sequence[FrameTag] = (),
    *,
    image_name: str = "sheet.png",
) -> tuple[RGBA, dict[str, Any]]:
    """Pack equal-size frames row by row into one sheet and describe it as an Aseprite atlas.

    Args:
        frames: ``[h, w, 4]`` uint8 frames, all the same size.
        columns: frames per row; 0 picks a near-square layout.
        durations_ms: one duration for all frames, one per frame, or None for 100 ms.
        tags: named animations over frame ranges.
        image_name: the sheet's file name, recorded in ``meta.image``.

    Returns:
        The sheet (unused slots transparent) and the atlas dict, ready for `json.dump`.

    Raises:
        InvalidParameterError: no frames, mixed sizes, bad columns, durations or tag ranges.
    """
    checked = _checked_frames(frames)
    count = len(checked)
    if isinstance(columns, bool) or columns < 0:
        raise InvalidParameterError(f"columns={columns} must be 0 (automatic) or more")
    across = min(columns or math.ceil(math.sqrt(count)), count)
    down = math.ceil(count / across)
    for tag in tags:
        if not 0 <= tag.first <= tag.last < count:
            raise InvalidParameterError(
                f"tag {tag.name!r} covers frames {tag.first}-{tag.last} but there are {count} "
                f"frames (0-{count - 1})"
            )
    durations = _durations(count, durations_ms)
    cell_h, cell_w = checked[0].shape[:2]
    sheet = np.zeros((down * cell_h, across * cell_w, 4), dtype=np.uint8)
    entries: list[dict[str, Any]] = []
    for index, (frame, duration) in enumerate(zip(checked, durations, strict=True)):
        y, x = (index // across) * cell_h, (index % across) * cell_w
        sheet[y : y + cell_h, x : x + cell_w] = frame
        entries.append(
            {
                "filename": f"frame_{index}",
                "frame": {"x": x, "y": y, "w": cell_w, "h": cell_h},
                "rotated": False,
                "trimmed": False,
                "spriteSourceSize": {"x": 0, "y": 0, "w": cell_w, "h": cell_h},
                "sourceSize": {"w": cell_w, "h": cell_h},
                "duration": duration,
            }
        )
    meta = {
        "app": "https://www.aseprite.org/",
        "version": "1.3",
        "image": image_name,
        "format": "RGBA8888",
        "size": {"w": sheet.shape[1], "h": sheet.shape[0]},
        "scale": "1",
        "frameTags": [tag.to_aseprite() for tag in tags],
        "layers": [],
        "slices": [],
    }
    return sheet, {"frames": entries, "meta": meta}


def pixelize_frames(frames: Sequence[RGBA], options: PixelizeOptions) -> BatchResult:
    """Pixelize animation frames together: one grid, one phase and one palette for all.

    Frames of one size share a single grid detection (``grid_sharing="shared"``), so every
    frame comes out the same size and phase; one palette is built over all of them.
    """
    # Imported here: the pipeline imports this package's other modules, not the reverse.
    from dataclasses import replace

    from .pipeline import pixelize_batch

    checked = [check_rgba(frame, f"frames[{i}]") for i, frame in enumerate(frames)]
    return pixelize_batch(checked, replace(options, grid_sharing="shared"))
