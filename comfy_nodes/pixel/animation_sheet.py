"""Rendered animation frames in, one game-ready sheet out: the steps of an animation sheet.

``assemble_sheet`` reads as the steps it takes:

1. check the layout: ``directions`` x ``frames_per_direction`` frames, one row each;
2. find the ONE grid the frames share, naming the frames that cannot share it
   (``frame_grids``);
3. pixelize every frame on that grid with ONE palette (``sheets.pixelize_frames``);
4. align the frames on one pivot: feet on one row, centre column (``pivot``);
5. pack the sheet and its Aseprite atlas, tags ``<animation>_<direction>`` (``sheets``);
6. describe it for Bevy's ``TextureAtlasLayout`` (``bevy_atlas``);
7. measure how much the frames look like one character (``sheet_consistency``) and
   write the QA report of the sheet with those figures and every warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from .bevy_atlas import bevy_atlas
from .errors import InvalidParameterError
from .frame_grids import shared_grid
from .pivot import align_on_pivot
from .qa import qa_report
from .sheet_consistency import frame_label, measure
from .sheets import FrameTag, pack_sheet, pixelize_frames

if TYPE_CHECKING:
    from .pipeline import PixelizeOptions

__all__ = ["AnimationSheet", "SheetLayout", "assemble_sheet", "pack_layout", "parse_directions"]

RGBA = npt.NDArray[np.uint8]
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_DIRECTIONS: Final[int] = 8


def _check_name(argument: str, name: str) -> str:
    if not _NAME.match(name):
        raise InvalidParameterError(
            f"{argument}={name!r} must be a lower-case name (a-z, 0-9, _; up to 32 characters)"
        )
    return name


def parse_directions(text: str) -> tuple[str, ...]:
    """``"down, left,right,up"`` -> ``("down", "left", "right", "up")``.

    Raises:
        InvalidParameterError: empty, more than 8, a repeated or malformed name.
    """
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    if not 1 <= len(names) <= MAX_DIRECTIONS:
        raise InvalidParameterError(
            f"directions={text!r} must list 1..{MAX_DIRECTIONS} names, e.g. 'down,left,right,up'"
        )
    for name in names:
        _check_name("directions", name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidParameterError(f"directions={text!r} names {', '.join(repeated)} twice")
    return names


@dataclass(frozen=True)
class SheetLayout:
    """How the frames of a sheet are laid out: one row per direction.

    Attributes:
        directions: Row names in order (``down``, ``left`` ...).
        frames_per_direction: Frames of each row (the sheet's columns).
        animation: The animation's name; tags are ``<animation>_<direction>``.
        frame_ms: How long each frame shows.
    """

    directions: tuple[str, ...]
    frames_per_direction: int
    animation: str = "walk"
    frame_ms: int = 150

    @classmethod
    def parse(
        cls,
        directions: str,
        frames_per_direction: int,
        animation: str = "walk",
        frame_ms: int = 150,
    ) -> SheetLayout:
        """The layout a sheet's text parameters describe (the node's widgets, a job's params).

        Raises:
            InvalidParameterError: a malformed ``directions`` (``parse_directions``).
        """
        return cls(parse_directions(directions), frames_per_direction, animation, frame_ms)

    @property
    def frame_count(self) -> int:
        return len(self.directions) * self.frames_per_direction

    def tags(self) -> tuple[FrameTag, ...]:
        """One tag per direction over its row of frames."""
        per = self.frames_per_direction
        return tuple(
            FrameTag(f"{self.animation}_{d}", i * per, (i + 1) * per - 1)
            for i, d in enumerate(self.directions)
        )

    def check(self, frame_count: int) -> None:
        """Raise `InvalidParameterError` unless the layout is sound and fits the frames."""
        _check_name("animation", self.animation)
        for name in self.directions:
            _check_name("directions", name)
        if isinstance(self.frames_per_direction, bool) or self.frames_per_direction < 1:
            raise InvalidParameterError(
                f"frames_per_direction={self.frames_per_direction} must be at least 1"
            )
        if self.frame_ms < 1:
            raise InvalidParameterError(f"frame_ms={self.frame_ms} must be at least 1")
        if frame_count != self.frame_count:
            raise InvalidParameterError(
                f"frames: got {frame_count} images for {len(self.directions)} direction(s) x "
                f"{self.frames_per_direction} frame(s) = {self.frame_count}; render one image "
                "per frame, direction by direction"
            )


def pack_layout(
    frames: Sequence[RGBA], layout: SheetLayout, *, image_name: str = "sheet.png"
) -> tuple[RGBA, dict[str, Any]]:
    """Pack frames one row per direction with the layout's tags and timing.

    Returns:
        The sheet and its Aseprite atlas (``pack_sheet``), tags ``<animation>_<direction>``.

    Raises:
        InvalidParameterError: a layout that does not fit the frames, or unusable frames.
    """
    layout.check(len(frames))
    return pack_sheet(
        frames, layout.frames_per_direction, layout.frame_ms, layout.tags(), image_name=image_name
    )


@dataclass(frozen=True)
class AnimationSheet:
    """A finished sheet and everything that describes it.

    Attributes:
        sheet: ``[rows*h, cols*w, 4]`` uint8 sheet, one row per direction.
        frames: The aligned frames in sheet order.
        aseprite: The Aseprite JSON-array atlas (``frames``, ``meta.frameTags``).
        bevy: The Bevy atlas (``bevy_atlas``).
        report: The sheet's QA report with a ``sheet`` section of consistency figures;
            ``warnings`` name every frame at fault.
    """

    sheet: RGBA
    frames: tuple[RGBA, ...]
    aseprite: dict[str, Any]
    bevy: dict[str, Any]
    report: dict[str, Any]


def _frame_warnings(per_frame: Sequence[Sequence[str]], tags: Sequence[FrameTag]) -> list[str]:
    """Each frame's QA warnings once, naming the frames that have it (or "all frames")."""
    frames_of: dict[str, list[int]] = {}
    for index, warnings in enumerate(per_frame):
        for warning in warnings:
            frames_of.setdefault(warning, []).append(index)
    out = []
    for warning, indices in frames_of.items():
        if len(indices) == len(per_frame) > 1:
            out.append(f"all frames: {warning}")
        else:
            out.append(f"{', '.join(frame_label(i, tags) for i in indices)}: {warning}")
    return out


def assemble_sheet(
    frames: Sequence[RGBA],
    layout: SheetLayout,
    options: PixelizeOptions,
    *,
    image_name: str = "sheet.png",
) -> AnimationSheet:
    """Turn rendered frames into an aligned, palette-locked sheet (see the module doc).

    Raises:
        InvalidParameterError: a layout that does not fit the frames, or a bad option.
        InvalidImageError: an unusable frame (named by index).
        GridDoesNotFitError: the sprite size asked for does not fit the frames.
    """
    # 1. layout
    layout.check(len(frames))
    tags = layout.tags()
    # 2. one grid, and the frames that cannot share it
    shared = shared_grid(frames, options.size) if options.grid is None else None
    off_grid = shared.problems if shared is not None else ()
    # 3. every frame on that grid, one palette
    grid = shared.grid if shared is not None else options.grid
    batch = pixelize_frames(frames, replace(options, grid=grid))
    # 4. one pivot
    aligned = align_on_pivot(batch.sprites)
    # 5. sheet + Aseprite atlas
    per = layout.frames_per_direction
    sheet, aseprite = pack_layout(aligned.frames, layout, image_name=image_name)
    # 6. Bevy atlas
    bevy = bevy_atlas(
        image=image_name,
        tile_size=aligned.tile,
        columns=per,
        rows=len(layout.directions),
        frame_count=layout.frame_count,
        tags=tags,
        frame_ms=layout.frame_ms,
        pivot=aligned.pivot,
    )
    # 7. consistency and the QA report
    palette = batch.palette.colors if batch.palette is not None else None
    consistency = measure(aligned.frames, tags, palette)
    warnings = [
        f"sheet: {frame_label(p.index, tags)} cannot share the sheet's pixel grid: {p.reason}"
        for p in off_grid
    ]
    warnings += _frame_warnings([r.report.warnings for r in batch.results], tags)
    warnings += consistency.warnings
    report = qa_report(
        sheet,
        grid=batch.results[0].grid,
        palette=batch.palette,
        notes=(
            *batch.results[0].report.notes,
            f"aligned: largest shift {aligned.largest_shift_px} px",
        ),
    ).to_dict()
    report["warnings"] = list(dict.fromkeys(warnings))
    report["grid"] = batch.results[0].grid.to_dict()
    report["sheet"] = {
        **consistency.to_dict(),
        "directions": list(layout.directions),
        "frames_per_direction": per,
        "pivot": [aligned.pivot.x, aligned.pivot.y],
        "largest_shift_px": aligned.largest_shift_px,
        "frames_off_grid": [p.index for p in off_grid],
    }
    return AnimationSheet(sheet, aligned.frames, aseprite, bevy, report)
