"""DGXP_AssembleAnimationSheet: an IMAGE batch of frames in; sheet, aligned frames, both
atlases and the QA report out (as results and as `ui`); a bad layout is refused by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from comfy_nodes.nodes.sheets import AssembleAnimationSheet
from comfy_nodes.pixel.errors import InvalidParameterError

WIDGETS: dict[str, Any] = {
    "sprite_size": "auto", "palette": "auto", "colors": 0, "dither": "none",
    "remove_background": "auto", "outline": False, "seed": 0,
}  # fmt: skip


def _render(dy: int) -> np.ndarray:
    cells = np.zeros((8, 8, 4), np.uint8)
    cells[...] = (180, 180, 180, 255)
    cells[2 + dy : 7 + dy, 3:6] = (200, 30, 30, 255)
    cells[3 + dy, 4] = (30, 30, 200, 255)  # a one-cell eye: the cells are 6 px, not 18
    return np.repeat(np.repeat(cells, 6, 0), 6, 1)


def test_the_node_returns_the_sheet_frames_atlases_and_report(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    frames = as_image(*[_render(i % 2) for i in range(4)])

    returned = AssembleAnimationSheet().assemble(
        frames, "down,up", 2, "walk", 90, "k.png", **WIDGETS
    )

    sheet, mask, aligned, atlas_json, report_json = returned["result"]
    assert to_rgba(sheet).shape == (1, 16, 16, 4) and mask.shape == (1, 16, 16)
    assert to_rgba(aligned).shape == (4, 8, 8, 4)
    ui = returned["ui"]
    assert json.loads(ui["atlas"][0]) == json.loads(atlas_json)
    assert json.loads(ui["report"][0]) == json.loads(report_json)
    bevy = json.loads(ui["bevy_atlas"][0])
    assert [a["name"] for a in bevy["animations"]] == ["walk_down", "walk_up"]
    assert json.loads(report_json)["sheet"]["pivot_drift_px"] == 0


def test_frames_that_do_not_fill_the_layout_are_refused(as_image: Callable[..., Any]) -> None:
    frames = as_image(*[_render(0)] * 3)
    with pytest.raises(InvalidParameterError, match=r"got 3 images for 2 direction\(s\) x 2"):
        AssembleAnimationSheet().assemble(frames, "down,up", 2, "walk", 90, "k.png", **WIDGETS)
