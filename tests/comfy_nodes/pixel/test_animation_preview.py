"""The GIF preview: animations side by side, exact colours, transparency, durations."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from comfy_nodes.pixel.animation_preview import preview_frames, preview_gif
from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.sheets import FrameTag, pack_sheet

COLORS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 200, 40)]


def _frame(color: tuple[int, int, int], row: int) -> np.ndarray:
    frame = np.zeros((4, 3, 4), np.uint8)
    frame[row, :] = (*color, 255)
    return frame


def _sheet() -> tuple[np.ndarray, dict[str, object]]:
    frames = [_frame(COLORS[i % 4], i % 4) for i in range(4)] * 2  # 2 tags of 4 frames
    tags = (FrameTag("walk_down", 0, 3), FrameTag("walk_up", 4, 7))
    return pack_sheet(frames, 4, 80, tags)


def test_equal_animations_play_side_by_side() -> None:
    sheet, atlas = _sheet()

    frames, durations = preview_frames(sheet, atlas)

    assert len(frames) == 4 and durations == [80] * 4
    assert frames[1].shape == (4, 3 + 1 + 3, 4)
    assert tuple(frames[1][1, 0, :3]) == COLORS[1] and tuple(frames[1][1, 4, :3]) == COLORS[1]
    assert not frames[1][:, 3].any()  # the gap between the two animations


def test_the_gif_keeps_exact_colours_and_transparency_scaled_up() -> None:
    sheet, atlas = _sheet()

    data = preview_gif(sheet, atlas, scale=2)

    with Image.open(io.BytesIO(data)) as gif:
        shown = [np.asarray(f.convert("RGBA")) for f in ImageSequence.Iterator(gif)]
        assert gif.info["loop"] == 0
    assert len(shown) == 4 and shown[0].shape == (8, 14, 4)
    expected, _ = preview_frames(sheet, atlas)
    for got, want in zip(shown, expected, strict=True):
        big = np.repeat(np.repeat(want, 2, 0), 2, 1)
        assert np.array_equal(got[..., 3] > 0, big[..., 3] > 0)
        opaque = big[..., 3] > 0
        assert np.array_equal(got[..., :3][opaque], big[..., :3][opaque])


def test_an_atlas_that_does_not_fit_the_sheet_or_a_bad_scale_is_refused() -> None:
    sheet, atlas = _sheet()
    with pytest.raises(InvalidParameterError, match="scale=0"):
        preview_gif(sheet, atlas, scale=0)
    outside = {"frames": [{"frame": {"x": 10, "y": 0, "w": 3, "h": 4}, "duration": 1}]}
    with pytest.raises(InvalidParameterError, match=r"frames\[0\].*outside the 12x8 sheet"):
        preview_gif(sheet, outside)
    with pytest.raises(InvalidParameterError, match="no frames"):
        preview_gif(sheet, {"frames": []})
