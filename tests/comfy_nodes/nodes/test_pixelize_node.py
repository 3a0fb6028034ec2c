"""DGXP_PixelizeSprite and the grid/downscale/background/report nodes on tiny batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from comfy_nodes.nodes.background import RemoveBackground
from comfy_nodes.nodes.downscale import DownscaleToGrid
from comfy_nodes.nodes.grid import DetectGrid
from comfy_nodes.nodes.pixelize import PixelizeSprite
from comfy_nodes.nodes.report import SpriteReport
from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.grid import GridEstimate

COLORS = np.array([[20, 20, 30], [200, 40, 40], [40, 180, 60], [240, 200, 40]], np.uint8)
WIDGETS: dict[str, Any] = {
    "sprite_size": "auto",
    "palette": "auto",
    "colors": 4,
    "dither": "none",
    "remove_background": "none",
    "outline": False,
    "seed": 0,
}


def _frame(seed: int, scale: int = 6, cells: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spr = COLORS[rng.integers(0, 4, (cells, cells))]
    big = np.repeat(np.repeat(spr, scale, axis=0), scale, axis=1)
    out = np.full((*big.shape[:2], 4), 255, np.uint8)
    out[..., :3] = big
    return out


def _truth(seed: int, cells: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return COLORS[rng.integers(0, 4, (cells, cells))]


def test_published_input_names_are_stable() -> None:
    spec = PixelizeSprite.INPUT_TYPES()
    assert list(spec["required"]) == [
        "image",
        "sprite_size",
        "palette",
        "colors",
        "dither",
        "remove_background",
        "outline",
        "seed",
    ]
    assert list(spec["optional"]) == ["key_color", "cleanup", "downscale_mode", "mask"]
    assert PixelizeSprite.RETURN_TYPES == ("IMAGE", "MASK", "STRING")
    assert (
        spec["required"]["palette"][0][0] == "auto" and "pico-8" in spec["required"]["palette"][0]
    )
    assert spec["required"]["colors"][1] == {  # 0 = auto (issue 11), the new default
        "default": 0,
        "min": 0,
        "max": 256,
        "tooltip": spec["required"]["colors"][1]["tooltip"],
    }


def test_every_input_of_my_nodes_has_a_tooltip() -> None:
    for node in (PixelizeSprite, DetectGrid, DownscaleToGrid, RemoveBackground, SpriteReport):
        spec = node.INPUT_TYPES()
        for group in spec.values():
            for name, (_, opts) in group.items():
                assert opts.get("tooltip"), f"{node.__name__}.{name} has no tooltip"
        assert node.CATEGORY.startswith("DGX-Pixels/")


def test_batch_returns_rgba_sprites_mask_and_reports(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    sprite, mask, report = PixelizeSprite().pixelize(as_image(_frame(1), _frame(2)), **WIDGETS)
    rgba = to_rgba(sprite)
    assert rgba.shape == (2, 8, 8, 4) and tuple(mask.shape) == (2, 8, 8)
    np.testing.assert_array_equal(rgba[0, ..., :3], _truth(1))
    np.testing.assert_array_equal(rgba[1, ..., :3], _truth(2))
    assert float(mask.max()) == 0.0
    reports = json.loads(report)
    assert [r["width"] for r in reports] == [8, 8] and reports[0]["pixel_perfect"]


def test_background_removal_shows_in_the_mask(as_image: Callable[..., Any]) -> None:
    frame = _frame(3)
    frame[:6, :, :3] = (250, 250, 250)  # the top and bottom cell rows are background
    frame[-6:, :, :3] = (250, 250, 250)
    # border, not auto: content running edge to edge (left to right here) is no
    # background to auto mode (issue 11), while border mode floods the border colour.
    widgets = {**WIDGETS, "remove_background": "border"}
    _, mask, _ = PixelizeSprite().pixelize(as_image(frame), **widgets)
    assert (mask[0, 0].numpy() == 1.0).all()
    assert (mask[0, 7].numpy() == 1.0).all()
    assert float(mask[0, 1:7].max()) == 0.0


def test_bad_sprite_size_names_the_widget(as_image: Callable[..., Any]) -> None:
    with pytest.raises(InvalidParameterError, match="sprite_size"):
        PixelizeSprite().pixelize(as_image(_frame(4)), **{**WIDGETS, "sprite_size": "huge"})


def test_step_nodes_chain_to_the_same_sprite(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    image = as_image(_frame(5))
    grid, grid_json = DetectGrid().detect(image, "auto")
    assert isinstance(grid, GridEstimate) and json.loads(grid_json)["cols"] == 8
    sprite, _ = DownscaleToGrid().downscale(image, grid, "robust")
    np.testing.assert_array_equal(to_rgba(sprite)[0, ..., :3], _truth(5))
    cleaned, mask = RemoveBackground().remove(sprite, "none", 0.09)
    assert float(mask.max()) == 0.0
    returned = SpriteReport().report(cleaned, grid)
    report, perfect = returned["result"]
    assert perfect and json.loads(report)["grid_confidence"] > 0.5
    assert [json.loads(t) for t in returned["ui"]["text"]] == [json.loads(report)]


def test_report_ui_has_one_json_object_per_sprite_of_a_batch(
    as_image: Callable[..., Any],
) -> None:
    clean = np.zeros((2, 2, 4), dtype=np.uint8)
    clean[..., 3] = 255
    returned = SpriteReport().report(as_image(clean, clean))
    texts = [json.loads(t) for t in returned["ui"]["text"]]
    report_json, perfect = returned["result"]
    assert texts == json.loads(report_json) and len(texts) == 2
    assert perfect and all(t["pixel_perfect"] for t in texts)


def test_a_mask_input_is_honoured_as_alpha(as_image: Callable[..., Any]) -> None:
    torch = pytest.importorskip("torch")
    frame = _frame(6)
    mask = torch.zeros((1, 48, 48))
    mask[0, :6, :] = 1.0  # the top cell row is transparent
    widgets = {**WIDGETS, "remove_background": "auto"}
    _, out_mask, _ = PixelizeSprite().pixelize(as_image(frame), mask=mask, **widgets)
    assert (out_mask[0, 0].numpy() == 1.0).all() and float(out_mask[0, 1:].max()) == 0.0


def test_rgba_sprite_output_names_the_node_that_gives_rgb() -> None:
    # ComfyUI's core ImageQuantize fails on 4 channels; users must see what to put between
    assert "SplitImageWithAlpha" in PixelizeSprite.DESCRIPTION
    tooltips = PixelizeSprite.OUTPUT_TOOLTIPS
    assert len(tooltips) == len(PixelizeSprite.RETURN_TYPES)
    assert "RGBA" in tooltips[0] and "SplitImageWithAlpha" in tooltips[0]
    # outputs are appended only, never reordered: workflows bind to slot numbers
    assert PixelizeSprite.RETURN_TYPES[:3] == ("IMAGE", "MASK", "STRING")


def test_colors_zero_picks_the_palette_size_and_one_is_refused_naming_colors(
    as_image: Callable[..., Any],
) -> None:
    widgets = {**WIDGETS, "colors": 0}
    _, _, report = PixelizeSprite().pixelize(as_image(_frame(5)), **widgets)
    assert json.loads(report)["palette_size"] == 4
    with pytest.raises(InvalidParameterError, match="colors=1"):
        PixelizeSprite().pixelize(as_image(_frame(5)), **{**WIDGETS, "colors": 1})
