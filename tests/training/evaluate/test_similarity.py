"""SSIM/PSNR (scikit-image) of a sprite against a held-out image."""

from __future__ import annotations

import math

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidImageError
from training.evaluate.similarity import similarity


def _sprite(seed: int, size: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, (size, size, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    return rgba


def test_identical_images_give_ssim_one_and_infinite_psnr() -> None:
    image = _sprite(1)
    result = similarity(image, image.copy())
    assert result.ssim == pytest.approx(1.0) and math.isinf(result.psnr)


def test_a_different_image_scores_lower_and_a_small_change_in_between() -> None:
    reference = _sprite(1)
    nudged = reference.copy()
    nudged[0, 0, :3] ^= 0x10  # one pixel slightly off
    other = _sprite(2)
    near, far = similarity(nudged, reference), similarity(other, reference)
    assert 0.9 < near.ssim < 1.0 and far.ssim < near.ssim
    assert math.isfinite(near.psnr) and far.psnr < near.psnr


def test_a_sprite_is_compared_at_the_reference_size_by_nearest_neighbour() -> None:
    small = _sprite(3, 6)
    big = np.repeat(np.repeat(small, 4, 0), 4, 1)  # the same sprite at 4x
    result = similarity(small, big)
    assert result.ssim == pytest.approx(1.0) and math.isinf(result.psnr)


def test_transparent_pixels_are_compared_on_white() -> None:
    clear = _sprite(4)
    clear[..., 3] = 0
    white = np.full_like(clear, 255)
    assert math.isinf(similarity(clear, white).psnr)


def test_a_non_rgba_image_is_refused_by_argument() -> None:
    with pytest.raises(InvalidImageError, match="generated"):
        similarity(np.zeros((4, 4, 3), np.uint8), _sprite(1))
