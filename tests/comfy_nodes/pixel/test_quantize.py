"""Palette building (k-means, median cut) and mapping onto a palette, exact on tiny images."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.color import oklab_to_srgb, srgb_to_oklab
from comfy_nodes.pixel.errors import InvalidImageError, InvalidParameterError
from comfy_nodes.pixel.palette import Palette
from comfy_nodes.pixel.quantize import build_palette, map_to_palette


def _image(colors: list[tuple[int, int, int, int]]) -> np.ndarray:
    return np.array([colors], dtype=np.uint8)


def _lab_mean(rgb: list[tuple[int, int, int]], weights: list[float]) -> list[int]:
    lab = srgb_to_oklab(np.array(rgb, dtype=np.uint8)).astype(np.float64)
    mean = (lab * np.array(weights)[:, None]).sum(axis=0) / sum(weights)
    return [int(v) for v in oklab_to_srgb(mean)]


def test_fewer_colours_than_asked_come_back_exactly_dark_to_light() -> None:
    image = _image([(255, 255, 255, 255), (0, 0, 0, 255), (200, 0, 0, 255), (0, 0, 0, 255)])
    palette = build_palette([image], n_colors=4)
    assert palette.colors.tolist() == [[0, 0, 0], [200, 0, 0], [255, 255, 255]]


def test_kmeans_merges_near_colours_into_their_perceptual_mean() -> None:
    red, light_red, blue = (200, 0, 0), (210, 0, 0), (0, 0, 200)
    image = _image([(*red, 255)] * 3 + [(*light_red, 255), (*blue, 255), (*blue, 255)])
    palette = build_palette(image, n_colors=2, method="kmeans", seed=3)
    expected_red = _lab_mean([red, light_red], [3, 1])
    assert sorted(palette.colors.tolist()) == sorted([expected_red, list(blue)])


def test_kmeans_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, size=(12, 12, 4), dtype=np.uint8)
    image[..., 3] = 255
    first = build_palette([image], n_colors=6, seed=5)
    again = build_palette([image], n_colors=6, seed=5)
    assert first == again
    assert len(first) == 6


def test_median_cut_splits_at_the_weighted_median_of_the_widest_axis() -> None:
    greys = [(0, 0, 0), (10, 10, 10), (240, 240, 240), (250, 250, 250)]
    image = _image([(*grey, 255) for grey in greys])
    palette = build_palette(image, n_colors=2, method="median_cut")
    assert palette.colors.tolist() == [
        _lab_mean(greys[:2], [1, 1]),
        _lab_mean(greys[2:], [1, 1]),
    ]


def test_transparent_pixels_never_reach_the_palette() -> None:
    image = _image([(255, 0, 0, 255), (0, 255, 0, 0), (0, 255, 0, 10), (0, 0, 255, 255)])
    palette = build_palette(image, n_colors=2)
    assert [0, 255, 0] not in palette.colors.tolist()
    assert sorted(palette.colors.tolist()) == [[0, 0, 255], [255, 0, 0]]


def test_a_batch_shares_one_palette() -> None:
    reds = _image([(250, 0, 0, 255), (240, 0, 0, 255)])
    blues = _image([(0, 0, 250, 255), (0, 0, 240, 255)])
    palette = build_palette([reds, blues], n_colors=2, method="median_cut")
    mapped = [map_to_palette(image, palette) for image in (reds, blues)]
    used = {tuple(p) for image in mapped for p in image[0, :, :3].tolist()}
    assert used == {tuple(c) for c in palette.colors.tolist()}
    assert len(used) == 2


@pytest.mark.parametrize("n_colors", [0, 1, 257, 300, -4])
def test_colors_outside_2_to_256_is_refused_naming_colors_and_value(n_colors: int) -> None:
    image = _image([(1, 2, 3, 255)])
    with pytest.raises(
        InvalidParameterError, match=rf"colors={n_colors} is out of range; choose 2\.\.256"
    ):
        build_palette(image, n_colors=n_colors)


def test_unknown_method_lists_valid_methods() -> None:
    with pytest.raises(InvalidParameterError, match=r"method=.octree.*kmeans, median_cut"):
        build_palette(_image([(1, 2, 3, 255)]), method="octree")


def test_image_without_opaque_pixels_is_refused() -> None:
    with pytest.raises(InvalidImageError, match="no opaque pixels"):
        build_palette(_image([(1, 2, 3, 0)]), n_colors=2)


def test_map_to_palette_picks_nearest_keeps_alpha_and_zeroes_transparent() -> None:
    palette = Palette("bw", np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8))
    image = _image([(30, 30, 30, 255), (220, 200, 210, 128), (255, 255, 255, 0)])
    assert map_to_palette(image, palette).tolist() == [
        [[0, 0, 0, 255], [255, 255, 255, 128], [0, 0, 0, 0]]
    ]


def test_map_to_palette_uses_perceptual_distance() -> None:
    # In raw RGB, (0, 90, 0) is nearer black; to the eye (and in OKLab) it is nearer green.
    palette = Palette("p", np.array([[0, 0, 0], [0, 200, 0]], dtype=np.uint8))
    assert map_to_palette(_image([(0, 90, 0, 255)]), palette)[0, 0].tolist() == [0, 200, 0, 255]


@pytest.mark.parametrize(("method", "tolerance"), [("kmeans", 0.01), ("median_cut", 0.03)])
def test_noisy_image_with_thousands_of_colours_recovers_its_true_colours(
    method: str, tolerance: float
) -> None:
    rng = np.random.default_rng(8)
    truth = np.array([[200, 30, 40], [30, 160, 60], [40, 60, 200], [240, 230, 210]])
    noisy = np.clip(truth[rng.integers(0, 4, (64, 64))] + rng.normal(0, 4, (64, 64, 3)), 0, 255)
    image = np.dstack([noisy.astype(np.uint8), np.full((64, 64), 255, dtype=np.uint8)])
    assert len(np.unique(image.reshape(-1, 4), axis=0)) > 1024  # takes the coarse-to-fine path
    palette = build_palette(image, n_colors=4, method=method, seed=1)
    distance = np.linalg.norm(
        srgb_to_oklab(truth.astype(np.uint8))[:, None] - palette.lab[None], axis=2
    )
    assert distance.min(axis=1).max() < tolerance  # OKLab; ~0.02 is a just-visible step
    assert build_palette(image, n_colors=4, method=method, seed=1) == palette
