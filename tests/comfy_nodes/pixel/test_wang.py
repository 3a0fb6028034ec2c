"""Corner (Wang) tile sets: index convention, masks, composites, edge matching, atlas, map."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidImageError, InvalidParameterError
from comfy_nodes.pixel.tiles import SEAM_THRESHOLD, join_score, seam_score
from comfy_nodes.pixel.wang import (
    MIN_WANG_SIDE,
    composite_wang,
    corner_masks,
    corners_of,
    edge_pairs,
    edge_scores,
    edges_report,
    lock_edges,
    pack_atlas,
    random_map,
    tile_index,
)

LOWER = (40, 160, 40, 255)
UPPER = (40, 60, 200, 255)


def _terrain(colour: tuple[int, int, int, int], side: int = 32) -> np.ndarray:
    """A seamless texture: flat colour with a darker speck every 8 px on both axes."""
    image = np.zeros((side, side, 4), dtype=np.uint8)
    image[...] = colour
    image[::8, ::8, :3] = np.array(colour[:3]) // 2
    return image


def test_index_is_the_corner_bitmask_ne_se_sw_nw() -> None:
    assert corners_of(0) == {"NE": 0, "SE": 0, "SW": 0, "NW": 0}
    assert corners_of(1) == {"NE": 1, "SE": 0, "SW": 0, "NW": 0}
    assert corners_of(6) == {"NE": 0, "SE": 1, "SW": 1, "NW": 0}
    assert corners_of(8) == {"NE": 0, "SE": 0, "SW": 0, "NW": 1}
    assert [tile_index(**{k.lower(): v for k, v in corners_of(i).items()}) for i in range(16)] == (
        list(range(16))
    )


@pytest.mark.parametrize("index", [-1, 16, True])
def test_an_index_out_of_range_is_refused(index: int) -> None:
    with pytest.raises(InvalidParameterError, match=r"index=.* out of range; choose 0\.\.15"):
        corners_of(index)


def test_hard_masks_without_noise_are_exact_corner_shapes() -> None:
    masks = corner_masks(8, 8, roughness=0.0, softness=0.0)
    assert masks.shape == (16, 8, 8)
    assert not masks[0].any() and masks[15].all()
    np.testing.assert_array_equal(masks[3][:, 4:], 1)  # NE+SE: the east half is upper
    np.testing.assert_array_equal(masks[3][:, :4], 0)
    np.testing.assert_array_equal(masks[12][:, 4:], 0)  # SW+NW: the west half
    np.testing.assert_array_equal(masks[12][:, :4], 1)
    # A single corner covers its own pixel and never reaches the other three.
    assert masks[8][0, 0] == 1 and masks[8][0, 7] == 0 and masks[8][7, 0] == 0
    assert masks[8][7, 7] == 0
    np.testing.assert_array_equal(masks[2], masks[8][::-1, ::-1])  # SE is NW turned 180°


def test_a_mask_edge_depends_only_on_that_edges_two_corners() -> None:
    masks = corner_masks(32, 32, seed=3, softness=0.0)
    for a, b, axis in edge_pairs():
        # The touching columns (rows) of a and b: a's east (south), b's west (north).
        first, second = (
            (masks[a][:, -1], masks[b][:, 0]) if axis == "x" else (masks[a][-1], masks[b][0])
        )
        # Both sides take the terrain of their shared corners near those corners.
        np.testing.assert_array_equal(first[:2], second[:2])
        np.testing.assert_array_equal(first[-2:], second[-2:])
    for i in (i for i in range(16) if not i & 3):  # NE = SE = lower: the east edge is lower
        assert not masks[i][:, -1].any()


def test_masks_too_small_or_options_out_of_range_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=f"4x4 is too small.*{MIN_WANG_SIDE}x"):
        corner_masks(4, 4)
    with pytest.raises(InvalidParameterError, match=r"roughness=0\.6 is out of range"):
        corner_masks(8, 8, roughness=0.6)
    with pytest.raises(InvalidParameterError, match=r"softness=-0\.1 is out of range"):
        corner_masks(8, 8, softness=-0.1)


def test_the_plain_tiles_are_the_terrains_and_every_touching_pair_matches() -> None:
    lower, upper = _terrain(LOWER), _terrain(UPPER)
    tiles = composite_wang(lower, upper, seed=1)
    assert len(tiles) == 16
    np.testing.assert_array_equal(tiles[0], lower)
    np.testing.assert_array_equal(tiles[15], upper)
    scores = edge_scores(tiles)
    assert len(scores) == 128  # 64 side by side, 64 stacked
    assert all(s.matches for s in scores), [s for s in scores if not s.matches]


def test_a_tile_drawn_the_wrong_way_is_named_as_a_mismatch() -> None:
    tiles = composite_wang(_terrain(LOWER), _terrain(UPPER), seed=1)
    tiles[3] = tiles[3][:, ::-1].copy()  # upper on the west instead of the east
    report = edges_report(edge_scores(tiles))
    bad = {tuple(p["pair"]) for p in report["per_pair"] if p["score"] > SEAM_THRESHOLD}
    assert report["mismatched"] == len(bad) > 0
    assert all(3 in pair for pair in bad)
    assert (0, 3) in bad  # all-lower on the left of 3: 3's west edge is now water


def test_terrains_of_different_sizes_are_refused() -> None:
    with pytest.raises(InvalidImageError, match="lower is 32x32 but upper is 16x16"):
        composite_wang(_terrain(LOWER), _terrain(UPPER, 16))


def test_join_score_is_zero_for_a_continuation_and_large_for_a_jump() -> None:
    ramp = np.zeros((4, 8, 4), dtype=np.uint8)
    ramp[..., 0] = np.arange(8, dtype=np.uint8)[None, :] * 30
    ramp[..., 3] = 255
    assert join_score(ramp[:, :4], ramp[:, 4:], 1) == 0.0
    assert join_score(ramp[:, 4:], ramp[:, :4], 1) > 0.3
    assert join_score(ramp[:, :4].transpose(1, 0, 2), ramp[:, 4:].transpose(1, 0, 2), 0) == 0.0
    with pytest.raises(InvalidParameterError, match="axis=2 is not 0"):
        join_score(ramp, ramp, 2)
    with pytest.raises(InvalidParameterError, match="at least 2 px across the join"):
        join_score(ramp[:, :1], ramp, 1)
    with pytest.raises(InvalidParameterError, match="sides of 4 and 3 px"):
        join_score(ramp, ramp[:3], 1)


def test_a_regular_pattern_wrapping_onto_a_feature_is_not_a_seam() -> None:
    assert seam_score(_terrain(LOWER)) == (0.0, 0.0)


def test_lock_edges_keeps_the_ring_and_the_blend_inside() -> None:
    old = np.zeros((16, 16, 4), dtype=np.uint8)
    new = np.full((16, 16, 4), 200, dtype=np.uint8)
    locked = lock_edges(new, old, band=0.125)  # 2 px ring, 2 px fade
    np.testing.assert_array_equal(locked[:2], old[:2])
    np.testing.assert_array_equal(locked[:, -2:], old[:, -2:])
    np.testing.assert_array_equal(locked[4:12, 4:12], new[4:12, 4:12])
    assert locked[2, 8, 0] == 100  # halfway through the fade
    np.testing.assert_array_equal(lock_edges(new, old, 0.0), new)
    with pytest.raises(InvalidParameterError, match=r"band=0\.5 is out of range"):
        lock_edges(new, old, 0.5)
    with pytest.raises(InvalidImageError, match="blended is 16x16 but original is 8x8"):
        lock_edges(new, old[:8, :8], 0.1)


def test_atlas_places_tile_i_at_column_i_mod_4_row_i_div_4() -> None:
    tiles = [np.full((2, 3, 4), i, dtype=np.uint8) for i in range(16)]
    atlas, layout = pack_atlas(tiles, "grass_water.png")
    assert atlas.shape == (8, 12, 4)
    assert atlas[2 * 2, 3 * 1, 0] == 9  # row 2, column 1
    assert layout["tile_size"] == [3, 2] and layout["columns"] == 4 and layout["rows"] == 4
    assert layout["meta"] == {"image": "grass_water.png", "size": {"w": 12, "h": 8}}
    entry = layout["tiles"][9]  # type: ignore[index]
    assert entry == {"index": 9, "corners": corners_of(9), "x": 3, "y": 4}


def test_a_set_that_is_not_16_tiles_of_one_size_is_refused() -> None:
    tiles = [np.zeros((2, 2, 4), dtype=np.uint8)] * 15
    with pytest.raises(InvalidImageError, match="a corner set has 16 tiles, got 15"):
        pack_atlas(tiles)
    mixed = [*tiles, np.zeros((3, 3, 4), dtype=np.uint8)]
    with pytest.raises(InvalidImageError, match="one size, got 2x2, 3x3"):
        edge_scores(mixed)


def test_the_random_map_uses_the_tile_its_corners_call_for() -> None:
    tiles = [np.full((2, 2, 4), i * 10, dtype=np.uint8) for i in range(16)]
    picture, indices = random_map(tiles, 5, 3, seed=7)
    assert picture.shape == (6, 10, 4) and indices.shape == (3, 5)
    for r in range(3):
        for c in range(5):
            assert picture[r * 2, c * 2, 0] == indices[r, c] * 10
    # Neighbours agree on the corners they share.
    for r in range(3):
        for c in range(4):
            left, right = corners_of(int(indices[r, c])), corners_of(int(indices[r, c + 1]))
            assert (left["NE"], left["SE"]) == (right["NW"], right["SW"])
    again, _ = random_map(tiles, 5, 3, seed=7)
    np.testing.assert_array_equal(picture, again)
    with pytest.raises(InvalidParameterError, match=r"columns=0 is out of range; choose 1\.\.64"):
        random_map(tiles, 0, 3)
