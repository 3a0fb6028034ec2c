"""SDXL's training buckets and where a sprite goes in one: an integer factor, then padding.

Pixel art is never resampled: a sprite of w×h cells is repeated `factor` times per axis
(nearest neighbour, whole numbers only) and centred on the bucket whose aspect ratio is
closest to its own; the rest of the bucket is background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from training.errors import DatasetError

__all__ = ["SDXL_BUCKETS", "Placement", "place_in_bucket"]

# The resolutions SDXL was trained on near 1024² (SDXL paper, appendix; kohya's defaults).
SDXL_BUCKETS: Final[tuple[tuple[int, int], ...]] = (
    (1024, 1024),
    (1152, 896),
    (896, 1152),
    (1216, 832),
    (832, 1216),
    (1344, 768),
    (768, 1344),
    (1536, 640),
    (640, 1536),
)


@dataclass(frozen=True)
class Placement:
    """A sprite in a bucket: `factor`× larger, its top-left corner at (`left`, `top`)."""

    bucket: tuple[int, int]
    factor: int
    left: int
    top: int


def place_in_bucket(width: int, height: int, name: str = "sprite") -> Placement:
    """The closest-aspect SDXL bucket and the largest whole factor that fits the sprite in it.

    Args:
        width: Sprite width in cells (1 px per cell).
        height: Sprite height in cells.
        name: The file, for the error message.

    Raises:
        DatasetError: the sprite is larger than every bucket.
    """
    aspect = math.log(width / height)
    bucket = min(SDXL_BUCKETS, key=lambda b: (abs(math.log(b[0] / b[1]) - aspect), -b[0]))
    factor = min(bucket[0] // width, bucket[1] // height)
    if factor < 1:
        raise DatasetError(
            name,
            f"{width}x{height}",
            f"the sprite is larger than the {bucket[0]}x{bucket[1]} bucket at 1 px per cell; "
            "crop it or leave it out",
        )
    left = (bucket[0] - width * factor) // 2
    top = (bucket[1] - height * factor) // 2
    return Placement(bucket, factor, left, top)
