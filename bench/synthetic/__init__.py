"""Deterministic synthetic pseudo-pixel-art set for the pixel benchmarks (built at run time)."""

from __future__ import annotations

from .degrade import Degradation, degrade
from .set import Case, make_set
from .sprites import SpriteKind, make_sprite

__all__ = ["Case", "Degradation", "SpriteKind", "degrade", "make_set", "make_sprite"]
