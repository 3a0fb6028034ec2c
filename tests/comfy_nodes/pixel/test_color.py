"""sRGB / linear / OKLab conversions agree with published reference values and round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from comfy_nodes.pixel.color import (
    linear_to_srgb_uint8,
    norm3,
    oklab_to_srgb,
    srgb_to_linear,
    srgb_to_oklab,
)


def test_srgb_decode_matches_the_standard_curve_at_known_points() -> None:
    linear = srgb_to_linear(np.array([0, 10, 128, 255], dtype=np.uint8))
    # 10/255 sits on the linear toe; 128/255 on the power segment.
    np.testing.assert_allclose(linear, [0.0, 10 / 255 / 12.92, 0.2158605, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((255, 255, 255), (1.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        # Ottosson's published OKLab values for the sRGB primaries.
        ((255, 0, 0), (0.627955, 0.224863, 0.125846)),
        ((0, 255, 0), (0.866440, -0.233888, 0.179498)),
        ((0, 0, 255), (0.452014, -0.032457, -0.311528)),
    ],
)
def test_srgb_to_oklab_matches_reference_values(
    rgb: tuple[int, int, int], lab: tuple[float, float, float]
) -> None:
    result = srgb_to_oklab(np.array(rgb, dtype=np.uint8))
    np.testing.assert_allclose(result, lab, atol=2e-4)


def test_every_grey_level_round_trips_exactly_through_oklab() -> None:
    levels = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    np.testing.assert_array_equal(oklab_to_srgb(srgb_to_oklab(levels)), levels)


def test_random_colours_round_trip_exactly_and_keep_their_shape() -> None:
    rgb = np.random.default_rng(7).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    lab = srgb_to_oklab(rgb)
    assert lab.shape == (5, 7, 3) and lab.dtype == np.float32
    np.testing.assert_array_equal(oklab_to_srgb(lab), rgb)
    np.testing.assert_array_equal(linear_to_srgb_uint8(srgb_to_linear(rgb)), rgb)


def test_out_of_gamut_lab_is_clipped_not_wrapped() -> None:
    assert oklab_to_srgb(np.array([1.5, 0.0, 0.0])).tolist() == [255, 255, 255]
    assert oklab_to_srgb(np.array([-0.5, 0.0, 0.0])).tolist() == [0, 0, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm3_is_bit_for_bit_numpys_norm(dtype: type) -> None:
    x = np.random.default_rng(0).normal(0.0, 0.3, size=(7, 11, 3)).astype(dtype)
    got = norm3(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.linalg.norm(x, axis=-1))
