"""SSIM and PSNR of a generated sprite against a held-out image (scikit-image's metrics).

The two pictures are compared at the held-out image's size, both flattened onto one
background colour: the generated sprite is enlarged (or shrunk) there by nearest neighbour,
the pixel-art way, never resampled smoothly. Pictures smaller than SSIM's 7-pixel window
are both enlarged by one whole factor first, which changes neither metric's meaning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.image_io import check_rgba
from training.evaluate.lpips import LpipsNet, lpips_distance

__all__ = ["BACKGROUND", "Similarity", "similarity"]

BACKGROUND: Final[tuple[int, int, int]] = (255, 255, 255)
"""What transparent pixels are flattened onto before comparing."""

_SSIM_WINDOW: Final[int] = 7  # scikit-image's default window side

Rgba = NDArray[np.uint8]


@dataclass(frozen=True)
class Similarity:
    """How close a generated sprite is to a held-out image.

    Attributes:
        ssim: Structural similarity, -1..1 (1: identical).
        psnr: Peak signal-to-noise ratio in dB (`inf`: identical pixels).
        lpips: LPIPS distance (0: identical), or None without LPIPS weights.
    """

    ssim: float
    psnr: float
    lpips: float | None = None


def _flatten(rgba: Rgba) -> NDArray[np.float64]:
    alpha = rgba[..., 3:4].astype(np.float64) / 255.0
    background = np.array(BACKGROUND, dtype=np.float64)
    return rgba[..., :3].astype(np.float64) * alpha + background * (1.0 - alpha)


def _nearest(rgb: NDArray[np.float64], height: int, width: int) -> NDArray[np.float64]:
    rows = (np.arange(height) * rgb.shape[0]) // height
    cols = (np.arange(width) * rgb.shape[1]) // width
    return np.asarray(rgb[rows][:, cols], dtype=np.float64)


def similarity(generated: Rgba, reference: Rgba, lpips: LpipsNet | None = None) -> Similarity:
    """SSIM and PSNR (and LPIPS, given its network) of `generated` against `reference`
    (both RGBA uint8).

    Raises:
        InvalidImageError: Either is not an RGBA uint8 image.
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    ref = _flatten(check_rgba(reference, "reference"))
    gen = _nearest(_flatten(check_rgba(generated, "generated")), *ref.shape[:2])
    perceptual = None if lpips is None else lpips_distance(lpips, gen, ref)
    factor = math.ceil(_SSIM_WINDOW / min(ref.shape[:2]))
    if factor > 1:
        ref = np.repeat(np.repeat(ref, factor, 0), factor, 1)
        gen = np.repeat(np.repeat(gen, factor, 0), factor, 1)
    ssim = float(structural_similarity(gen, ref, channel_axis=2, data_range=255.0))  # type: ignore[no-untyped-call]
    if np.array_equal(gen, ref):  # the library divides by a zero error here
        return Similarity(ssim, math.inf, perceptual)
    psnr = peak_signal_noise_ratio(ref, gen, data_range=255.0)  # type: ignore[no-untyped-call]
    return Similarity(ssim, float(psnr), perceptual)
