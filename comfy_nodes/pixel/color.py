"""Colour-space conversions: sRGB <-> linear RGB <-> OKLab, vectorised over any leading shape.

OKLab (Björn Ottosson, 2020) is perceptually uniform enough that Euclidean distance tracks
how different two colours look, so palette building, mapping and dithering measure colour
distance there. Linear RGB is where light adds up, so blends and error diffusion in
"linear" mode happen there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "linear_to_oklab",
    "linear_to_srgb",
    "linear_to_srgb_uint8",
    "norm3",
    "oklab_to_linear",
    "oklab_to_srgb",
    "srgb_to_linear",
    "srgb_to_oklab",
]

FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]

# Ottosson's matrices: linear sRGB -> LMS cone response, and cube-rooted LMS -> Lab.
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ],
    dtype=np.float64,
)
_LMS_TO_LAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ],
    dtype=np.float64,
)
_LAB_TO_LMS = np.linalg.inv(_LMS_TO_LAB)
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)


def _srgb_decode(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def srgb_to_linear(rgb: npt.ArrayLike) -> FloatArray:
    """Decode sRGB to linear light.

    Args:
        rgb: uint8 values (0..255) or floats in 0..1, any shape.

    Returns:
        float32 linear values in 0..1, same shape.
    """
    array = np.asarray(rgb)
    if array.dtype == np.uint8:
        # A 256-entry table keeps this exact and fast for whole images.
        table = _srgb_decode(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
        decoded: FloatArray = table[array]
        return decoded
    return _srgb_decode(np.clip(array.astype(np.float64), 0.0, 1.0)).astype(np.float32)


def linear_to_srgb(linear: npt.ArrayLike) -> FloatArray:
    """Encode linear light as sRGB floats in 0..1 (out-of-gamut values are clipped)."""
    values = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    encoded = np.where(
        values <= 0.0031308, values * 12.92, 1.055 * np.power(values, 1.0 / 2.4) - 0.055
    )
    return encoded.astype(np.float32)


def linear_to_srgb_uint8(linear: npt.ArrayLike) -> UInt8Array:
    """Encode linear light as rounded sRGB uint8."""
    encoded: UInt8Array = np.rint(linear_to_srgb(linear) * 255.0).astype(np.uint8)
    return encoded


def linear_to_oklab(linear: npt.ArrayLike) -> FloatArray:
    """Linear sRGB ``[..., 3]`` to OKLab ``[..., 3]`` (L in 0..1, a/b roughly -0.4..0.4)."""
    lms = np.asarray(linear, dtype=np.float64) @ _RGB_TO_LMS.T
    return (np.cbrt(lms) @ _LMS_TO_LAB.T).astype(np.float32)


def oklab_to_linear(lab: npt.ArrayLike) -> FloatArray:
    """OKLab ``[..., 3]`` to linear sRGB ``[..., 3]`` (not clipped: may leave the gamut)."""
    lms = (np.asarray(lab, dtype=np.float64) @ _LAB_TO_LMS.T) ** 3
    linear: FloatArray = (lms @ _LMS_TO_RGB.T).astype(np.float32)
    return linear


def srgb_to_oklab(rgb: npt.ArrayLike) -> FloatArray:
    """sRGB ``[..., 3]`` (uint8 0..255 or float 0..1) to OKLab float32 ``[..., 3]``."""
    return linear_to_oklab(srgb_to_linear(rgb))


def oklab_to_srgb(lab: npt.ArrayLike) -> UInt8Array:
    """OKLab ``[..., 3]`` to sRGB uint8 ``[..., 3]``, clipped into the gamut."""
    return linear_to_srgb_uint8(oklab_to_linear(lab))


def norm3(x: FloatArray) -> FloatArray:
    """Euclidean length over a last axis of 3 (e.g. OKLab differences).

    Bit for bit ``np.linalg.norm(x, axis=-1)`` (numpy adds the three squares in the same
    order), about ten times faster: numpy's reduction over a 3-long axis runs a tiny
    inner loop per element, three whole-array operations do not.
    """
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    return np.asarray(np.sqrt(x0 * x0 + x1 * x1 + x2 * x2))
