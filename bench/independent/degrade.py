"""From a true sprite to the picture a diffusion model might render of it.

Upscaling samples the sprite through a continuous grid (scale, fractional offset, a
horizontal wobble per output row) at 2x2 points per pixel, so cell edges come out
anti-aliased; then blur, vignetting, colour jitter, noise and JPEG.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

__all__ = ["Damage", "render"]

_SUB = 2  # samples per pixel per axis: anti-aliased cell edges


@dataclass(frozen=True)
class Damage:
    """How one picture was degraded (the ``scale`` field is what the harness reads)."""

    scale: float
    offset_x: float
    offset_y: float
    wobble: float
    blur: float
    noise: float
    jitter: float
    vignette: float
    jpeg: int
    background: tuple[int, int, int]


def _sample(rgb: NDArray[np.uint8], d: Damage) -> NDArray[np.float32]:
    h, w = rgb.shape[:2]
    out_h = round(h * d.scale + d.offset_y)
    out_w = round(w * d.scale + d.offset_x)
    sub = (np.arange(_SUB) + 0.5) / _SUB
    ys = (np.arange(out_h)[:, None] + sub[None]).reshape(-1)
    xs = (np.arange(out_w)[:, None] + sub[None]).reshape(-1)
    phase = np.random.default_rng(int(d.scale * 1000)).uniform(0, 2 * np.pi)
    shift = d.wobble * np.sin(ys / 37.0 + phase)  # per-row wobble, in output pixels
    cy = np.clip(((ys - d.offset_y) / d.scale).astype(np.int64), 0, h - 1)
    cx = ((xs[None, :] - d.offset_x - shift[:, None]) / d.scale).astype(np.int64)
    samples = rgb[cy[:, None], np.clip(cx, 0, w - 1)]
    total = samples.reshape(out_h, _SUB, out_w, _SUB, 3).sum(axis=(1, 3), dtype=np.uint16)
    return np.asarray(total, dtype=np.float32) / np.float32(_SUB * _SUB)


def render(truth: NDArray[np.uint8], d: Damage, rng: np.random.Generator) -> NDArray[np.uint8]:
    """The degraded RGB picture of an RGBA ``truth`` (transparent cells on ``background``)."""
    rgb = np.where(truth[..., 3:] > 0, truth[..., :3], np.array(d.background, np.uint8))
    img = _sample(rgb.astype(np.uint8), d)
    if d.blur > 0:
        pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        img = np.asarray(pil.filter(ImageFilter.GaussianBlur(d.blur)), np.float32)
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
    img = img * (1.0 - d.vignette * r2 / 2.0)[..., None]
    gain = 1.0 + rng.uniform(-d.jitter, d.jitter, 3)
    img = img * gain + rng.normal(0.0, d.noise, img.shape)
    pil = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=d.jpeg)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
