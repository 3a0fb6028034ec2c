"""A second synthetic benchmark set, written apart from ``bench/synthetic``.

Different shapes (items, characters with thin limbs, UI icons, text glyphs, dithered
tiles, 16-px sprites at 60 px per cell), different degradations (anti-aliased edges,
per-row wobble, fractional offsets, JPEG 60–95, blur up to 1.5 px, noise, colour jitter,
vignetting), 3–24 colours per sprite, and the truth kept: size, cell map and palette.
Cases have the fields ``bench/pixel_quality.py`` reads (name, kind, transparent, truth,
image, degradation.scale).
"""

from __future__ import annotations

from .cases import IndependentCase, make_independent_set

__all__ = ["IndependentCase", "make_independent_set"]
