"""Outline, orphan, tile, sheet and upscale nodes on tiny batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from comfy_nodes.nodes.cleanup import AddOutline, RemoveOrphans
from comfy_nodes.nodes.sheets import PackSpriteSheet, SliceSpriteSheet
from comfy_nodes.nodes.tiles import MakeSeamless, TilePreview
from comfy_nodes.nodes.upscale import UpscalePreview
from comfy_nodes.pixel.errors import GridDoesNotFitError, InvalidPaletteError


def _dot() -> np.ndarray:
    image = np.zeros((3, 3, 4), dtype=np.uint8)
    image[1, 1] = (200, 50, 50, 255)
    return image


def test_outline_node_uses_the_given_hex_colour(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    image, mask = AddOutline().outline(as_image(_dot(), _dot()), "#0000ff")
    out = to_rgba(image)
    assert out[1, 0, 1].tolist() == [0, 0, 255, 255]
    assert mask[0].tolist() == [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]]


def test_outline_node_auto_colour_and_bad_colour(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    image, _ = AddOutline().outline(as_image(_dot()), "auto")
    assert to_rgba(image)[0, 0, 1, 3] == 255
    with pytest.raises(InvalidPaletteError, match="'navy'"):
        AddOutline().outline(as_image(_dot()), "navy")


def test_orphan_node_fills_a_speck(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    solid = np.full((3, 3, 4), 255, dtype=np.uint8)
    speck = solid.copy()
    speck[1, 1] = (0, 0, 0, 255)
    image, _ = RemoveOrphans().clean(as_image(speck), 0.0)
    np.testing.assert_array_equal(to_rgba(image)[0], solid)


def test_seamless_node_reports_scores_before_and_after(as_image: Callable[..., Any]) -> None:
    ramp = np.zeros((4, 8, 4), dtype=np.uint8)
    ramp[..., 0] = np.arange(8, dtype=np.uint8)[None, :] * 36
    ramp[..., 3] = 255
    image, _, report = MakeSeamless().seamless(as_image(ramp))
    scores = json.loads(report)
    assert len(scores) == 1 and scores[0]["after"][0] < scores[0]["before"][0]
    assert tuple(image.shape) == (1, 4, 8, 4)


def test_tile_preview_node_repeats(as_image: Callable[..., Any]) -> None:
    (preview,) = TilePreview().preview(as_image(_dot()), 3)
    assert tuple(preview.shape) == (1, 9, 9, 4)


def test_pack_then_slice_round_trips_a_batch(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    frames = [np.full((2, 2, 4), v, dtype=np.uint8) for v in (50, 100, 150)]
    returned = PackSpriteSheet().pack(as_image(*frames), 2, 80, "walk:0-2", "hero.png")
    sheet, _, atlas_json = returned["result"]
    assert returned["ui"] == {"text": [atlas_json]}  # ComfyUI keeps ui in /history
    atlas = json.loads(atlas_json)
    assert tuple(sheet.shape) == (1, 4, 4, 4)
    assert atlas["meta"]["image"] == "hero.png"
    assert atlas["meta"]["frameTags"][0] == {
        "name": "walk",
        "from": 0,
        "to": 2,
        "direction": "forward",
    }
    assert [f["duration"] for f in atlas["frames"]] == [80, 80, 80]
    cells, _ = SliceSpriteSheet().slice(sheet, 2, 2, True)
    assert to_rgba(cells)[:, 0, 0, 0].tolist() == [50, 100, 150]


def test_slice_node_refuses_a_grid_that_does_not_fit(as_image: Callable[..., Any]) -> None:
    with pytest.raises(GridDoesNotFitError, match="columns=2"):
        SliceSpriteSheet().slice(as_image(_dot()), 2, 1, False)


def test_upscale_node_makes_crisp_blocks(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    image, _ = UpscalePreview().upscale(as_image(_dot()), 4)
    out = to_rgba(image)[0]
    assert out.shape == (12, 12, 4)
    assert (out[4:8, 4:8] == [200, 50, 50, 255]).all() and (out[:4, :4] == 0).all()
