"""The Bevy atlas carries exactly `TextureAtlasLayout::from_grid`'s arguments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from comfy_nodes.pixel.bevy_atlas import bevy_atlas
from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.pivot import Pivot
from comfy_nodes.pixel.sheets import FrameTag

REPO = Path(__file__).resolve().parents[3]
TAGS = (FrameTag("walk_down", 0, 3), FrameTag("walk_up", 4, 7))


def test_a_two_row_walk_sheet() -> None:
    atlas = bevy_atlas(
        image="knight.png", tile_size=(16, 24), columns=4, rows=2, frame_count=8,
        tags=TAGS, frame_ms=150, pivot=Pivot(7, 23),
    )  # fmt: skip

    assert atlas == {
        "type": "dgxp_bevy_atlas",
        "version": 1,
        "image": "knight.png",
        "tile_size": [16, 24],
        "columns": 4,
        "rows": 2,
        "padding": [0, 0],
        "offset": [0, 0],
        "frame_count": 8,
        "pivot": [7, 23],
        # pixel centre (7.5, 23.5) of a 16x24 tile: x 7.5/16 - 0.5, y 0.5 - 23.5/24 (y up)
        "anchor": [-0.0312, -0.4792],
        "animations": [
            {"name": "walk_down", "first": 0, "last": 3, "frame_ms": 150, "direction": "forward"},
            {"name": "walk_up", "first": 4, "last": 7, "frame_ms": 150, "direction": "forward"},
        ],
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"frame_count": 9}, "frame_count=9 does not fill a 4x2 grid"),
        ({"frame_count": 4}, "frame_count=4 does not fill a 4x2 grid"),
        ({"columns": 0}, "each must be at least 1"),
        ({"tags": (FrameTag("walk", 6, 8),)}, "'walk' covers frames 6-8, outside 0-7"),
    ],
)
def test_a_grid_that_cannot_hold_the_frames_is_refused(
    changes: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "image": "s.png", "tile_size": (8, 8), "columns": 4, "rows": 2, "frame_count": 8,
        "tags": TAGS, "frame_ms": 100, "pivot": Pivot(3, 7),
    }  # fmt: skip
    with pytest.raises(InvalidParameterError, match=message):
        bevy_atlas(**{**args, **changes})  # type: ignore[arg-type]


def _rust_fields(struct: str) -> set[str]:
    """Field names of a serde struct in the Bevy example (`type` for a renamed `kind`)."""
    source = (REPO / "examples/bevy_pixels/src/animation.rs").read_text(encoding="utf-8")
    body = re.search(rf"struct {struct} \{{(.*?)\n\}}", source, re.S)
    assert body is not None, f"struct {struct} not found in the example"
    names = set(re.findall(r"^\s*(?:pub )?([a-z_]+):", body.group(1), re.M))
    return {"type" if n == "kind" else n for n in names}


def test_the_bevy_example_reads_exactly_the_keys_the_atlas_has() -> None:
    atlas = bevy_atlas(
        image="k.png", tile_size=(8, 8), columns=4, rows=2, frame_count=8,
        tags=TAGS, frame_ms=100, pivot=Pivot(3, 7),
    )  # fmt: skip

    assert _rust_fields("BevyAtlas") == set(atlas) - {"version", "pivot"}
    assert _rust_fields("AnimationRange") == set(atlas["animations"][0])
