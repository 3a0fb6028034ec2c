"""The benchmark set: a fixed mix of sprite kinds and sizes, deterministic by seed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .degrade import Degradation, degrade
from .sprites import SpriteKind, make_sprite

__all__ = ["Case", "make_set"]

_SIZES = (16, 24, 32, 48, 64, 96, 128)
_KINDS: tuple[SpriteKind, ...] = ("creature", "item", "tile", "sheet")


@dataclass(frozen=True)
class Case:
    """One benchmark image and its truth."""

    name: str
    kind: SpriteKind
    transparent: bool
    truth: NDArray[np.uint8]
    image: NDArray[np.uint8]
    degradation: Degradation


def make_set(n: int = 80, seed: int = 0, canvas: int = 1024) -> Iterator[Case]:
    """Yield ``n`` cases; the same ``seed`` always gives the same images."""
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        kind = _KINDS[i % len(_KINDS)]
        size = _SIZES[(i // len(_KINDS)) % len(_SIZES)]
        w, h = (size * 2, size // 2) if kind == "sheet" else (size, size)
        w, h = max(w, 16), max(h, 16)
        truth = make_sprite(kind, rng, w, h, n_colors=int(rng.integers(5, 11)))
        transparent = kind in ("creature", "item") or (kind == "sheet" and i % 2 == 0)
        if not transparent:
            empty = truth[..., 3] == 0
            truth[empty, :3] = rng.integers(0, 256, 3).astype(np.uint8)
            truth[..., 3] = 255
        img, deg = degrade(truth, rng, canvas=canvas)
        yield Case(f"{i:03d}-{kind}-{w}x{h}", kind, transparent, truth, img, deg)
