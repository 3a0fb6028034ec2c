"""Background removal on the grid: border flood, enclosed holes, close colours, key, alpha."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.alpha import (
    decide_background,
    estimate_background,
    harden_alpha,
    remove_background,
)
from comfy_nodes.pixel.errors import InvalidImageError, InvalidParameterError

BG = (240, 240, 240)
BODY = (200, 40, 40)
NEAR_BG = (215, 215, 222)  # a pale sprite colour close to the background


def _ring_sprite() -> np.ndarray:
    """10×10: background, a 6×6 body ring with a 2×2 background hole in the middle."""
    img = np.zeros((10, 10, 4), np.uint8)
    img[..., :3] = BG
    img[..., 3] = 255
    img[2:8, 2:8, :3] = BODY
    img[4:6, 4:6, :3] = BG
    return img


def test_border_background_and_enclosed_hole_become_transparent() -> None:
    out = remove_background(_ring_sprite(), "auto")
    expected = np.zeros((10, 10), bool)
    expected[2:8, 2:8] = True
    expected[4:6, 4:6] = False
    np.testing.assert_array_equal(out[..., 3] == 255, expected)
    assert (out[~expected] == 0).all()  # transparent pixels are (0, 0, 0, 0)
    assert set(np.unique(out[..., 3])) <= {0, 255}


def test_border_mode_keeps_enclosed_holes() -> None:
    out = remove_background(_ring_sprite(), "border")
    assert (out[4:6, 4:6, 3] == 255).all()
    assert (out[0, :, 3] == 0).all()


def test_sprite_colour_close_to_the_background_survives() -> None:
    img = _ring_sprite()
    img[3, 2:8, :3] = NEAR_BG  # touches the border-connected background
    img[4:6, 4:6, :3] = NEAR_BG  # and an enclosed patch of it
    out = remove_background(img, "auto")
    assert (out[3, 2:8, 3] == 255).all()
    assert (out[4:6, 4:6, 3] == 255).all()


def test_background_shading_is_followed() -> None:
    img = _ring_sprite()
    ramp = np.linspace(-12, 12, 10).astype(int)
    img[..., :3] = np.clip(img[..., :3].astype(int) + ramp[None, :, None], 0, 255).astype(np.uint8)
    out = remove_background(img, "auto")
    assert (out[0, :, 3] == 0).all() and (out[:, 9, 3] == 0).all()
    assert (out[2, 2:8, 3] == 255).all()


def test_key_colour_removes_every_match() -> None:
    img = _ring_sprite()
    out = remove_background(img, "key", key_color=BODY)
    assert (out[2:8, 2, 3] == 0).all() and (out[0, 0, 3] == 255).all()


def test_existing_alpha_is_honoured_and_made_hard() -> None:
    img = _ring_sprite()
    img[..., 3] = 255
    img[0:5, :, 3] = 100
    out = remove_background(img, "auto")
    assert (out[0:5, :, 3] == 0).all() and (out[5:, :, 3] == 255).all()
    assert (out[0:5] == 0).all()


def test_no_dominant_border_colour_removes_nothing() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 4)).astype(np.uint8)
    img[..., 3] = 255
    assert estimate_background(img) is None
    assert (remove_background(img, "auto")[..., 3] == 255).all()


def test_harden_alpha_thresholds_at_128() -> None:
    img = np.full((1, 3, 4), 50, np.uint8)
    img[0, :, 3] = (127, 128, 255)
    out = harden_alpha(img)
    assert out[0, :, 3].tolist() == [0, 255, 255] and out[0, 0].tolist() == [0, 0, 0, 0]


def test_unknown_mode_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterError, match="auto, border, key, none"):
        remove_background(_ring_sprite(), "magic")


def test_key_mode_without_a_colour_says_what_to_pass() -> None:
    with pytest.raises(InvalidParameterError, match="key_color"):
        remove_background(_ring_sprite(), "key")


def test_out_of_range_tolerance_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="tolerance"):
        remove_background(_ring_sprite(), "auto", tolerance=2.0)


def test_rgb_input_is_refused_with_the_shape() -> None:
    with pytest.raises(InvalidImageError, match=r"\[H, W, 4\]"):
        remove_background(np.zeros((4, 4, 3), np.uint8), "auto")


def _seamless_tile(seed: int) -> np.ndarray:
    """A 4-colour texture whose content reaches every edge (a dominant ground colour)."""
    rng = np.random.default_rng(seed)
    colors = np.array([[70, 120, 50], [90, 150, 60], [60, 100, 40], [120, 90, 60]], np.uint8)
    idx = rng.choice(4, size=(24, 24), p=[0.7, 0.1, 0.1, 0.1])
    out = np.full((24, 24, 4), 255, np.uint8)
    out[..., :3] = colors[idx]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auto_keeps_a_tile_that_has_no_background(seed: int) -> None:
    decision = decide_background(_seamless_tile(seed), "auto")
    assert not decision.mask.any()
    assert decision.note.startswith("kept: no background found")


def test_auto_keeps_content_that_runs_edge_to_edge() -> None:
    img = np.full((16, 16, 4), 255, np.uint8)
    img[..., :3] = (240, 240, 240)
    img[3:13, :, :3] = (200, 40, 40)  # a band from the left edge to the right edge
    decision = decide_background(img, "auto")
    assert not decision.mask.any() and "edge to edge" in decision.note
    assert decide_background(img, "border").mask.sum() == 16 * 6


def test_auto_still_removes_a_flat_background_around_a_sprite() -> None:
    img = np.full((16, 16, 4), 255, np.uint8)
    img[..., :3] = (240, 240, 240)
    img[4:12, 5:11, :3] = (30, 60, 200)
    decision = decide_background(img, "auto")
    assert int(decision.mask.sum()) == 256 - 48
    assert decision.note == "removed: border colour #f0f0f0"
