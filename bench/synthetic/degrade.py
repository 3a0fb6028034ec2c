"""Turn a true sprite into SDXL-like pseudo pixel art: non-integer upscale with offset and
wobble, blur, colour jitter, noise and JPEG."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

__all__ = ["Degradation", "degrade"]


@dataclass(frozen=True)
class Degradation:
    """How one case was degraded (recorded in the benchmark JSON)."""

    scale: float
    offset_x: float
    offset_y: float
    wobble: float
    blur: float
    noise: float
    jpeg: int
    jitter: float
    background: tuple[int, int, int]


def _lines(
    rng: np.random.Generator, n: int, scale: float, offset: float, wobble: float
) -> NDArray[np.float64]:
    k = np.arange(n + 1)
    period = rng.uniform(5, 20)
    wob = wobble * np.sin(2 * np.pi * k / period + rng.uniform(0, 2 * np.pi))
    wob[0] = wob[-1] = 0.0
    lines: NDArray[np.float64] = offset + k * scale + wob
    return lines


def _index_map(lines: NDArray[np.float64], size: int, cells: int) -> NDArray[np.intp]:
    centers = np.arange(size) + 0.5
    return np.clip(np.searchsorted(lines, centers, side="right") - 1, 0, cells - 1)


def degrade(
    sprite: NDArray[np.uint8],
    rng: np.random.Generator,
    canvas: int = 1024,
    scale: float | None = None,
) -> tuple[NDArray[np.uint8], Degradation]:
    """Pseudo pixel art RGB picture of ``sprite`` and the parameters used (``scale`` fixes
    the cell size; by default it is drawn so the picture is 86-97 % of ``canvas``)."""
    h, w = sprite.shape[:2]
    if scale is None:
        scale = canvas / max(w, h) * rng.uniform(0.86, 0.97)
    ox, oy = rng.uniform(0, 0.45 * scale, 2)
    wobble = rng.uniform(0, min(1.5, 0.08 * scale))
    red, green, blue = (int(v) for v in rng.integers(0, 256, 3))
    bg = (red, green, blue)
    lx, ly = _lines(rng, w, scale, ox, wobble), _lines(rng, h, scale, oy, wobble)
    width = int(np.ceil(lx[-1] + rng.uniform(0, 0.45 * scale)))
    height = int(np.ceil(ly[-1] + rng.uniform(0, 0.45 * scale)))
    rgb = sprite[..., :3].astype(np.float32)
    a = sprite[..., 3:4].astype(np.float32) / 255.0
    flat = rgb * a + np.array(bg, np.float32) * (1 - a)
    jitter = rng.uniform(0, 4)
    flat = flat + rng.normal(0, jitter, flat.shape)  # cells are never quite flat
    img = flat[_index_map(ly, height, h)][:, _index_map(lx, width, w)]
    blur = rng.uniform(0.3, 1.2)
    img = ndimage.gaussian_filter(img, sigma=(blur, blur, 0))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = (xx / width - 0.5) * rng.uniform(-10, 10) + (yy / height - 0.5) * rng.uniform(-10, 10)
    gain = rng.uniform(0.96, 1.04, 3).astype(np.float32)
    img = img * gain + shade[..., None]
    noise = rng.uniform(1, 5)
    img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    quality = int(rng.integers(70, 96))
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, format="JPEG", quality=quality)
    out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out, Degradation(scale, ox, oy, wobble, blur, noise, quality, jitter, bg)
