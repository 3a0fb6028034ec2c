"""Seam fixing over a threshold, and the QA reports of tiles and corner sets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidImageError, InvalidParameterError
from comfy_nodes.pixel.tile_qa import autotile_report, seam_entries, tile_report
from comfy_nodes.pixel.tiles import (
    MIN_SEAMLESS_SIDE,
    SEAM_THRESHOLD,
    fix_seams,
    make_seamless,
    seam_score,
)
from comfy_nodes.pixel.wang import composite_wang, pack_atlas


def _ramp(width: int = 8, height: int = 6) -> np.ndarray:
    image = np.zeros((height, width, 4), dtype=np.uint8)
    image[..., 0] = (np.arange(width) * (255 // (width - 1)))[None, :]
    image[..., 3] = 255
    return image


def _flat(colour: tuple[int, int, int], side: int = 16) -> np.ndarray:
    image = np.zeros((side, side, 4), dtype=np.uint8)
    image[..., :3] = colour
    image[..., 3] = 255
    return image


def test_a_tile_over_the_threshold_is_made_seamless_with_scores_before_and_after() -> None:
    fix = fix_seams(_ramp())
    assert fix.fixed and fix.before == seam_score(_ramp()) and fix.before[0] > SEAM_THRESHOLD
    assert fix.after == seam_score(fix.tile) and fix.after[0] < fix.before[0] / 4
    assert fix.to_dict() == {
        "before": list(fix.before),
        "after": list(fix.after),
        "made_seamless": True,
        "threshold": SEAM_THRESHOLD,
    }


def test_a_tile_under_the_threshold_is_left_exactly_as_it_is() -> None:
    tile = _flat((10, 120, 30))
    fix = fix_seams(tile)
    assert not fix.fixed and fix.before == fix.after == (0.0, 0.0)
    np.testing.assert_array_equal(fix.tile, tile)


def test_a_tile_too_small_to_be_made_seamless_is_refused_naming_size_and_minimum() -> None:
    tiny = _ramp(3, 3)
    with pytest.raises(InvalidImageError, match=r"a 3x3 tile is too small to be made seamless"):
        make_seamless(tiny)
    with pytest.raises(InvalidImageError, match=f"minimum is {MIN_SEAMLESS_SIDE}x"):
        fix_seams(tiny)  # it has a seam, so it needs fixing


def test_seam_entries_spread_one_entry_and_refuse_a_wrong_count() -> None:
    one = json.dumps([{"before": [0.1, 0.0], "after": [0.0, 0.0], "made_seamless": True}])
    assert len(seam_entries(one, 3)) == 3
    assert seam_entries("", 2) == [{}, {}]
    with pytest.raises(InvalidParameterError, match="2 entries for 3 tiles"):
        seam_entries(json.dumps([{}, {}]), 3)
    with pytest.raises(InvalidParameterError, match="seam_json is not JSON"):
        seam_entries("{", 1)


def test_tile_report_carries_render_seams_and_warns_on_a_visible_seam() -> None:
    render = {"before": [0.2, 0.0], "after": [0.01, 0.0], "made_seamless": True, "x": 1}
    clean = tile_report(_flat((1, 2, 3)), render)
    assert clean["seams"] == {
        "render": {"before": [0.2, 0.0], "after": [0.01, 0.0], "made_seamless": True},
        "tile": [0.0, 0.0],
        "threshold": SEAM_THRESHOLD,
    }
    assert not any("seam" in w for w in clean["warnings"])
    seamy = tile_report(_ramp(), {})
    assert any("shows a seam when repeated" in w for w in seamy["warnings"])


def test_autotile_report_names_mismatched_pairs_and_prints_the_figures() -> None:
    lower, upper = _flat((40, 160, 40), 64), _flat((40, 60, 200), 64)
    tiles = composite_wang(lower, upper, seed=2)
    atlas, _ = pack_atlas(tiles)
    seams = {"lower": {"before": [0.0, 0.0], "after": [0.0, 0.0], "made_seamless": False}}
    good = autotile_report(atlas, tiles, seams)
    edges = good["autotile"]["edges"]
    assert (edges["pairs"], edges["mismatched"]) == (128, 0)
    assert good["notes"][-2].startswith("edges: 128 touching pairs checked, 0 over")
    assert good["notes"][-1] == "lower terrain seams [0.0, 0.0] -> [0.0, 0.0]"
    assert not any("do not match" in w for w in good["warnings"])
    tiles[5] = tiles[5][::-1].copy()  # NE+SW drawn upside down: SE+NW
    bad = autotile_report(pack_atlas(tiles)[0], tiles, seams)
    (warning,) = [w for w in bad["warnings"] if "do not match" in w]
    assert f"{bad['autotile']['edges']['mismatched']} of 128 touching edge pairs" in warning
    assert "5|" in warning or "|5 " in warning
