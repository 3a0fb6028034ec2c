"""SDXL buckets: the closest aspect, the largest whole factor, centred; too big is refused."""

from __future__ import annotations

import pytest

from training.buckets import SDXL_BUCKETS, Placement, place_in_bucket
from training.errors import DatasetError


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((16, 16), Placement((1024, 1024), 64, 0, 0)),
        ((24, 16), Placement((1216, 832), 50, 8, 16)),
        ((16, 40), Placement((640, 1536), 38, 16, 8)),
        ((100, 7), Placement((1536, 640), 15, 18, 267)),
        ((1024, 1024), Placement((1024, 1024), 1, 0, 0)),
    ],
)
def test_closest_aspect_bucket_and_largest_whole_factor(
    size: tuple[int, int], expected: Placement
) -> None:
    placement = place_in_bucket(*size)
    assert placement == expected
    assert placement.bucket in SDXL_BUCKETS
    (width, height), (bucket_w, bucket_h) = size, placement.bucket
    # centred: the margins on either side differ by at most one pixel
    assert bucket_w - width * placement.factor - 2 * placement.left in (0, 1)
    assert bucket_h - height * placement.factor - 2 * placement.top in (0, 1)


def test_a_sprite_larger_than_its_bucket_is_refused_by_name() -> None:
    with pytest.raises(DatasetError, match=r"^big\.png='1100x1100': .*larger than the 1024x1024"):
        place_in_bucket(1100, 1100, "big.png")


def test_every_bucket_is_near_one_megapixel_in_steps_of_64() -> None:
    assert all(w % 64 == 0 and h % 64 == 0 for w, h in SDXL_BUCKETS)
    assert all(0.9 <= w * h / 1024**2 <= 1.0 for w, h in SDXL_BUCKETS)
