"""Rendered frames in, one aligned, palette-locked sheet out, with its atlases and report."""

from __future__ import annotations

import numpy as np
import pytest
from pixel_grid_helpers import sprite

from comfy_nodes.pixel.animation_sheet import SheetLayout, assemble_sheet, parse_directions
from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.pipeline import PixelizeOptions

GREY, RED, BLUE = (180, 180, 180), (200, 30, 30), (30, 30, 200)


def _render(dx: int, dy: int, scale: int = 8) -> np.ndarray:
    """A 16x16-cell character (red body, blue eyes) on grey, moved by (dx, dy) cells."""
    cells = np.zeros((16, 16, 4), np.uint8)
    cells[...] = (*GREY, 255)
    cells[4 + dy : 13 + dy, 5 + dx : 10 + dx] = (*RED, 255)
    cells[6 + dy, 6 + dx : 9 + dx] = (*BLUE, 255)
    return np.repeat(np.repeat(cells, scale, 0), scale, 1)


def test_drifting_frames_become_one_aligned_sheet_with_both_atlases() -> None:
    frames = [_render(i % 2, (i // 2) % 2) for i in range(8)]
    layout = SheetLayout(("down", "up"), 4, frame_ms=120)

    made = assemble_sheet(frames, layout, PixelizeOptions(), image_name="k.png")

    assert made.sheet.shape == (2 * 16, 4 * 16, 4)
    first = made.frames[0]
    assert all(np.array_equal(f, first) for f in made.frames)  # the drift is gone
    body = np.argwhere(first[..., 3] > 0)
    # feet on the lowest frames' row (13), body on the centre column (15 // 2 = 7)
    assert body[:, 0].max() == 13 and (body[:, 1].min(), body[:, 1].max()) == (5, 9)
    assert tuple(first[7, 6, :3]) == BLUE
    assert [t["name"] for t in made.aseprite["meta"]["frameTags"]] == ["walk_down", "walk_up"]
    assert {f["duration"] for f in made.aseprite["frames"]} == {120}
    assert made.bevy["tile_size"] == [16, 16] and (made.bevy["columns"], made.bevy["rows"]) == (
        4,
        2,
    )
    assert made.bevy["image"] == made.aseprite["meta"]["image"] == "k.png"
    sheet = made.report["sheet"]
    assert sheet["largest_shift_px"] == 1 and sheet["pivot_drift_px"] == 0
    assert sheet["palette_identical"] and sheet["min_silhouette_iou"] == 1.0
    assert made.report["warnings"] == [] and made.report["pixel_perfect"] is True


def test_a_frame_that_cannot_share_the_grid_is_named_in_the_report() -> None:
    odd = np.repeat(np.repeat(sprite(32, 32, seed=9), 4, 0), 4, 1)
    frames = [_render(0, 0), _render(0, 0), odd, _render(0, 0)]

    made = assemble_sheet(frames, SheetLayout(("left",), 4), PixelizeOptions())

    assert made.report["sheet"]["frames_off_grid"] == [2]
    assert any(
        w.startswith("sheet: frame 2 (walk_left 2) cannot share the sheet's pixel grid")
        for w in made.report["warnings"]
    )
    assert made.sheet.shape == (16, 4 * 16, 4)  # the others still come out right


def test_a_layout_that_does_not_fit_the_frames_is_refused_naming_both() -> None:
    with pytest.raises(InvalidParameterError, match=r"got 3 images for 2 direction\(s\) x 2"):
        assemble_sheet([_render(0, 0)] * 3, SheetLayout(("down", "up"), 2), PixelizeOptions())
    with pytest.raises(InvalidParameterError, match="animation='Walk!'"):
        assemble_sheet([_render(0, 0)], SheetLayout(("down",), 1, "Walk!"), PixelizeOptions())


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "1..8 names"), ("down,down", "down twice"), ("down,Up Left", "lower-case name")],
)
def test_bad_directions_are_refused_naming_the_value(text: str, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        parse_directions(text)
    assert parse_directions(" Down , up") == ("down", "up")
