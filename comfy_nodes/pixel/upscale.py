"""Nearest-neighbour integer upscaling: every sprite pixel becomes a crisp factor² block."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .errors import InvalidParameterError
from .image_io import MAX_IMAGE_SIDE, check_rgba

__all__ = ["MAX_UPSCALE_FACTOR", "upscale_nearest"]

MAX_UPSCALE_FACTOR: Final[int] = 64


def upscale_nearest(rgba: npt.NDArray[np.uint8], factor: int) -> npt.NDArray[np.uint8]:
    """Repeat every pixel `factor` times along both axes.

    Raises:
        InvalidParameterError: `factor` outside 1..64, or a result wider or taller than 8192.
    """
    image = check_rgba(rgba)
    if isinstance(factor, bool) or not 1 <= int(factor) <= MAX_UPSCALE_FACTOR:
        raise InvalidParameterError(
            f"factor={factor!r} is out of range; choose a whole number 1..{MAX_UPSCALE_FACTOR}"
        )
    height, width = image.shape[:2]
    if max(height, width) * factor > MAX_IMAGE_SIDE:
        raise InvalidParameterError(
            f"factor={factor} would make a {width * factor}x{height * factor} image; "
            f"the limit is {MAX_IMAGE_SIDE} per side, choose a smaller factor"
        )
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
