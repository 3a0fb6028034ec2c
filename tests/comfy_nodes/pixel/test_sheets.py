"""Sprite sheets: slicing, packing with an Aseprite JSON atlas, tag parsing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from comfy_nodes.pixel.errors import GridDoesNotFitError, InvalidParameterError
from comfy_nodes.pixel.sheets import FrameTag, pack_sheet, parse_tags, slice_sheet


def _frame(value: int, size: tuple[int, int] = (2, 3)) -> np.ndarray:
    frame = np.full((*size, 4), value, dtype=np.uint8)
    frame[..., 3] = 255
    return frame


def test_pack_lays_frames_out_row_by_row_with_an_aseprite_atlas() -> None:
    frames = [_frame(v) for v in (10, 20, 30, 40, 50)]
    tags = (FrameTag("walk", 0, 3), FrameTag("hit", 4, 4, "pingpong"))
    sheet, atlas = pack_sheet(frames, columns=3, durations_ms=[100, 100, 100, 100, 250], tags=tags)
    assert sheet.shape == (4, 9, 4)
    assert sheet[0, 0, 0] == 10 and sheet[0, 6, 0] == 30 and sheet[2, 3, 0] == 50
    assert sheet[2:, 6:].tolist() == np.zeros((2, 3, 4), dtype=np.uint8).tolist()
    assert atlas["frames"][4] == {
        "filename": "frame_4",
        "frame": {"x": 3, "y": 2, "w": 3, "h": 2},
        "rotated": False,
        "trimmed": False,
        "spriteSourceSize": {"x": 0, "y": 0, "w": 3, "h": 2},
        "sourceSize": {"w": 3, "h": 2},
        "duration": 250,
    }
    meta = atlas["meta"]
    assert meta["size"] == {"w": 9, "h": 4} and meta["image"] == "sheet.png"
    assert meta["frameTags"] == [
        {"name": "walk", "from": 0, "to": 3, "direction": "forward"},
        {"name": "hit", "from": 4, "to": 4, "direction": "pingpong"},
    ]
    json.dumps(atlas)  # the atlas is plain JSON


def test_automatic_columns_make_a_near_square_sheet() -> None:
    sheet, atlas = pack_sheet([_frame(1)] * 4)
    assert sheet.shape == (4, 6, 4)
    assert [f["duration"] for f in atlas["frames"]] == [100] * 4


def test_slice_undoes_pack() -> None:
    frames = [_frame(v) for v in (1, 2, 3, 4)]
    sheet, _ = pack_sheet(frames, columns=2)
    for cut, original in zip(slice_sheet(sheet, 2, 2), frames, strict=True):
        np.testing.assert_array_equal(cut, original)


def test_slice_can_skip_empty_cells() -> None:
    sheet, _ = pack_sheet([_frame(7)] * 3, columns=2)
    assert len(slice_sheet(sheet, 2, 2)) == 4
    assert len(slice_sheet(sheet, 2, 2, skip_empty=True)) == 3


def test_slice_that_does_not_divide_the_sheet_names_the_argument() -> None:
    sheet = np.zeros((4, 9, 4), dtype=np.uint8)
    with pytest.raises(
        GridDoesNotFitError, match="columns=2 does not split the sheet's width of 9"
    ):
        slice_sheet(sheet, 2, 2)
    with pytest.raises(GridDoesNotFitError, match="rows=3 does not split the sheet's height of 4"):
        slice_sheet(sheet, 3, 3)


def test_frames_of_different_sizes_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"different sizes \(3x2, 4x4\)"):
        pack_sheet([_frame(1), _frame(2, (4, 4))])


def test_tag_outside_the_frames_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="'run' covers frames 1-5 but there are 2"):
        pack_sheet([_frame(1)] * 2, tags=[FrameTag("run", 1, 5)])


def test_duration_count_must_match_the_frames() -> None:
    with pytest.raises(InvalidParameterError, match="durations_ms has 1 entries for 2 frames"):
        pack_sheet([_frame(1)] * 2, durations_ms=[100])


def test_parse_tags_reads_ranges_single_frames_and_directions() -> None:
    assert parse_tags("walk:0-3, idle:4-5:pingpong,hit:6") == (
        FrameTag("walk", 0, 3),
        FrameTag("idle", 4, 5, "pingpong"),
        FrameTag("hit", 6, 6),
    )
    assert parse_tags("  ") == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [("walk", "malformed"), ("walk:3-1", "runs backwards"), ("walk:0-1:sideways", "sideways")],
)
def test_parse_tags_refuses_bad_entries(text: str, problem: str) -> None:
    with pytest.raises(InvalidParameterError, match=problem):
        parse_tags(text)


def test_pixelize_frames_shares_one_grid_and_one_palette() -> None:
    from comfy_nodes.pixel.pipeline import PixelizeOptions
    from comfy_nodes.pixel.sheets import pixelize_frames

    # Channel values sit on 6-bit lattice centres (2 mod 4), so exact asserts do not depend
    # on the pipeline binning cell colours before k-means (a speed trade it makes).
    colors = np.array([[254, 2, 2], [2, 162, 2], [2, 2, 254], [250, 222, 2]], dtype=np.uint8)
    truth = np.random.default_rng(5).integers(0, 4, size=(8, 8))
    walk = [truth, truth.copy()]
    walk[1][0, 0] = (truth[0, 0] + 1) % 4  # the second frame differs in one cell
    frames = []
    for cells in walk:
        big = np.repeat(np.repeat(colors[cells], 10, axis=0), 10, axis=1)
        frames.append(np.dstack([big, np.full(big.shape[:2], 255, dtype=np.uint8)]))
    result = pixelize_frames(frames, PixelizeOptions(remove_background="none", n_colors=4))
    assert result.palette is not None
    assert sorted(result.palette.colors.tolist()) == sorted(colors.tolist())
    for sprite, cells in zip(result.sprites, walk, strict=True):
        np.testing.assert_array_equal(sprite[..., :3], colors[cells])
