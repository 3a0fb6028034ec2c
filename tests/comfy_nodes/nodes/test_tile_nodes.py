"""Tile and corner-set nodes: thin over the pixel core, ComfyUI's return forms."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from comfy_nodes.nodes.tiles import MakeSeamless, TileReport
from comfy_nodes.nodes.wang import AutotileReport, LockWangEdges, PackAutotile, WangComposite
from comfy_nodes.pixel.wang import composite_wang


def _flat(colour: tuple[int, int, int], side: int = 64) -> np.ndarray:
    image = np.zeros((side, side, 4), dtype=np.uint8)
    image[..., :3] = colour
    image[..., 3] = 255
    return image


def test_composite_lock_pack_and_report_chain(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    lower, upper = _flat((40, 160, 40)), _flat((40, 60, 200))
    tiles, mask = WangComposite().composite(as_image(lower), as_image(upper), 3, 0.2, 0.08)
    assert tuple(tiles.shape) == (16, 64, 64, 4) and tuple(mask.shape) == (16, 64, 64)
    expected = composite_wang(lower, upper, seed=3, roughness=0.2, softness=0.08)
    np.testing.assert_array_equal(to_rgba(tiles)[5], expected[5])

    blended = as_image(*[np.full((64, 64, 4), 255, dtype=np.uint8)] * 16)
    locked, _ = LockWangEdges().lock(blended, tiles, 0.0625)
    locked_rgba = to_rgba(locked)
    np.testing.assert_array_equal(locked_rgba[:, :4], to_rgba(tiles)[:, :4])  # the ring
    assert (locked_rgba[:, 16:48, 16:48] == 255).all()  # the blend inside

    packed = PackAutotile().pack(tiles, 3, 2, 0, "grass_water.png")
    atlas, atlas_json, preview = packed["result"]
    assert packed["ui"] == {"text": [atlas_json]}
    layout = json.loads(atlas_json)
    assert layout["meta"]["image"] == "grass_water.png"
    assert tuple(atlas.shape) == (1, 256, 256, 4) and tuple(preview.shape) == (1, 128, 192, 4)

    seams = json.dumps([{"before": [0.0, 0.0], "after": [0.0, 0.0], "made_seamless": False}])
    reported = AutotileReport().report(atlas, tiles, seams, seams)
    (report_json,) = reported["result"]
    report = json.loads(report_json)
    assert reported["ui"] == {"text": [report_json]}
    assert report["autotile"]["edges"]["pairs"] == 128
    assert report["autotile"]["edges"]["mismatched"] == 0


def test_make_seamless_then_tile_report_carries_before_and_after(
    as_image: Callable[..., Any],
) -> None:
    ramp = np.zeros((8, 16, 4), dtype=np.uint8)
    ramp[..., 1] = np.arange(16, dtype=np.uint8)[None, :] * 16
    ramp[..., 3] = 255
    flat = _flat((9, 9, 9), 16)[:8]
    image, _, seam_json = MakeSeamless().seamless(as_image(ramp, flat))
    seams = json.loads(seam_json)
    assert [s["made_seamless"] for s in seams] == [True, False]
    reported = TileReport().report(image, seam_json)
    reports = json.loads(reported["result"][0])
    assert [r["seams"]["render"]["made_seamless"] for r in reports] == [True, False]
    assert reports[0]["seams"]["render"]["before"] == seams[0]["before"]
    assert len(reported["ui"]["text"]) == 2
