"""Tiny seeded pseudo pixel art for the grid/downscale/alpha/pipeline tests."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

# Eight colours far apart, so "recovered exactly" is well defined after noise.
COLORS = np.array(
    [
        [20, 20, 30],
        [230, 230, 220],
        [200, 40, 40],
        [40, 180, 60],
        [50, 70, 210],
        [240, 200, 40],
        [150, 60, 170],
        [60, 200, 210],
    ],
    dtype=np.uint8,
)


def sprite(w: int, h: int, seed: int = 0, n: int = 8) -> NDArray[np.uint8]:
    """Random opaque ``w × h`` RGBA sprite drawn from the first ``n`` COLORS."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(h, w))
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[..., :3] = COLORS[idx]
    out[..., 3] = 255
    return out


def upscale(
    spr: NDArray[np.uint8],
    scale: float,
    offset: tuple[float, float] = (0.0, 0.0),
    size: tuple[int, int] | None = None,
) -> NDArray[np.uint8]:
    """Nearest upscale by a fractional ``scale`` with the grid starting at ``offset``;
    pixels left of / above the offset repeat the first cell."""
    h, w = spr.shape[:2]
    width, height = size or (
        int(np.ceil(w * scale + offset[0])),
        int(np.ceil(h * scale + offset[1])),
    )
    xs = np.clip(np.floor((np.arange(width) + 0.5 - offset[0]) / scale).astype(int), 0, w - 1)
    ys = np.clip(np.floor((np.arange(height) + 0.5 - offset[1]) / scale).astype(int), 0, h - 1)
    return np.ascontiguousarray(spr[ys][:, xs])


def degrade(
    img: NDArray[np.uint8],
    seed: int = 0,
    blur: float = 0.8,
    noise: float = 3.0,
    jpeg: int | None = None,
) -> NDArray[np.uint8]:
    """Blur, add Gaussian noise and optionally JPEG-compress an RGB(A) picture (RGB out)."""
    rng = np.random.default_rng(seed)
    rgb = ndimage.gaussian_filter(img[..., :3].astype(np.float32), sigma=(blur, blur, 0))
    rgb = np.clip(np.rint(rgb + rng.normal(0, noise, rgb.shape)), 0, 255).astype(np.uint8)
    if jpeg is not None:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=jpeg)
        rgb = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return np.ascontiguousarray(rgb)
