"""The cases of the independent set: a seeded mix of shapes, sizes and degradations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from comfy_nodes.pixel.color import srgb_to_oklab

from .degrade import Damage, render
from .shapes import SHAPES, colour_in

__all__ = ["IndependentCase", "make_independent_set"]

_MIN_STEP = 0.1  # OKLab distance between any two truth colours (and the background)
_CANVAS = 1024
_MIN_SCALE = 12.0  # px per cell


@dataclass(frozen=True)
class IndependentCase:
    """One benchmark picture and its truth (field names as ``bench/pixel_quality.py`` reads)."""

    name: str
    kind: str
    transparent: bool
    truth: NDArray[np.uint8]
    image: NDArray[np.uint8]
    degradation: Damage
    palette: NDArray[np.uint8]


def _colours(k: int, rng: np.random.Generator) -> NDArray[np.uint8]:
    """``k + 1`` sRGB colours at least ``_MIN_STEP`` apart in OKLab (the last: background)."""
    candidates = rng.integers(0, 256, (4096, 3)).astype(np.uint8)
    lab = srgb_to_oklab(candidates).astype(np.float64)
    picked: list[int] = []
    for i in range(len(candidates)):
        if all(np.linalg.norm(lab[i] - lab[j]) >= _MIN_STEP for j in picked):
            picked.append(i)
            if len(picked) == k + 1:
                break
    return candidates[picked]


def _size(kind: str, rng: np.random.Generator) -> tuple[int, int, float]:
    if kind == "sprite16":
        return 16, 16, 60.0
    side = int(rng.choice([16, 20, 24, 32, 40, 48, 64]))
    cols = side * 3 // 2 if kind == "glyphs" else side  # a label is wider than tall
    top = min(60.0, max(_MIN_SCALE, 0.95 * _CANVAS / max(side, cols)))  # 12 px at least
    scale = float(rng.uniform(_MIN_SCALE, top))
    return side, cols, scale


def _case(index: int, rng: np.random.Generator) -> IndependentCase:
    kinds = [*SHAPES, "sprite16"]
    kind = kinds[index % len(kinds)]
    rows, cols, scale = _size(kind, rng)
    shape = (
        SHAPES[str(rng.choice(["item", "character", "icon"]))]
        if kind == "sprite16"
        else SHAPES[kind]
    )
    k = int(rng.integers(3, 25))
    idx = colour_in(shape(rows, cols, rng), k, rng)
    colours = _colours(k, rng)
    truth = np.zeros((rows, cols, 4), np.uint8)
    truth[idx > 0, :3] = colours[idx[idx > 0] - 1]
    truth[idx > 0, 3] = 255
    transparent = bool((idx == 0).any())
    damage = Damage(
        scale=scale,
        # a fractional phase only: a wider margin would make the true size ambiguous
        # (is a 0.6-cell strip of background a column?)
        offset_x=float(rng.uniform(0.0, 1.0)),
        offset_y=float(rng.uniform(0.0, 1.0)),
        wobble=float(rng.uniform(0.0, 1.5)),
        blur=float(rng.uniform(0.0, 1.5)),
        noise=float(rng.uniform(0.0, 6.0)),
        jitter=float(rng.uniform(0.0, 0.04)),
        vignette=float(rng.uniform(0.0, 0.15)),
        jpeg=int(rng.integers(60, 96)),
        background=tuple(int(v) for v in colours[-1]),  # type: ignore[arg-type]
    )
    image = render(truth, damage, rng)
    used = np.unique(truth[truth[..., 3] > 0][:, :3], axis=0)
    name = f"{index:03d}-{kind}-{cols}x{rows}-k{len(used)}"
    return IndependentCase(name, kind, transparent, truth, image, damage, used)


def make_independent_set(n: int = 60, seed: int = 0) -> Iterator[IndependentCase]:
    """``n`` cases from ``seed`` (the same seed, the same pictures)."""
    rng = np.random.default_rng([seed, 0x1D])
    for index in range(n):
        yield _case(index, rng)
