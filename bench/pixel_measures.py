"""Measures of a sprite against its truth that need no grid to agree beforehand.

- exact size: the output has the truth's width and height;
- colour accuracy: share of cells right (an opaque truth cell within ``COLOUR_STEP`` OKLab
  of its true colour, a transparent one transparent);
- colour-map agreement: over the cells opaque in the truth, of the pairs that share a
  colour in the truth or in the output, the share that share it in both (an output cell
  made transparent counts as one more colour), so a split colour and a merged pair both
  cost, and a large background cannot pad the score;
- colours ratio: distinct opaque colours out ÷ distinct opaque colours in the truth.

A wrong-size output is compared after a nearest resize to the truth's size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from comfy_nodes.pixel.color import srgb_to_oklab

__all__ = ["COLOUR_STEP", "Measures", "measure"]

COLOUR_STEP = 0.08  # OKLab: closer than this to the true colour counts as right


@dataclass(frozen=True)
class Measures:
    """One sprite's measures (see the module doc)."""

    size_exact: bool
    colour_accuracy: float
    colour_map_agreement: float
    colours_out: int
    colours_truth: int

    @property
    def colours_ratio(self) -> float:
        """Distinct colours out ÷ distinct colours in the truth."""
        return self.colours_out / max(1, self.colours_truth)

    def to_dict(self) -> dict[str, object]:
        """JSON-able, with the ratio."""
        return dict(asdict(self), colours_ratio=self.colours_ratio)


def _labels(rgba: NDArray[np.uint8]) -> NDArray[np.int64]:
    packed = (rgba[..., :3].astype(np.int64) * np.array([65536, 256, 1])).sum(-1)
    return np.where(rgba[..., 3] > 0, packed, -1).reshape(-1)


def _pairs(counts: NDArray[np.int64]) -> float:
    return float((counts * (counts - 1) // 2).sum())


def colour_map_agreement(truth: NDArray[np.uint8], out: NDArray[np.uint8]) -> float:
    """Pairs of truth-opaque cells sharing a colour in both ÷ pairs sharing one in either
    (1.0 when none share)."""
    opaque = truth[..., 3].reshape(-1) > 0
    t, o = _labels(truth)[opaque], _labels(out)[opaque]
    _, joint = np.unique(np.stack([t, o], 1), axis=0, return_counts=True)
    both = _pairs(joint)
    either = _pairs(np.unique(t, return_counts=True)[1]) + _pairs(
        np.unique(o, return_counts=True)[1]
    )
    return 1.0 if either - both <= 0 else both / (either - both)


def _colours(rgba: NDArray[np.uint8]) -> int:
    return int(np.unique(rgba[..., :3][rgba[..., 3] > 0], axis=0).shape[0])


def measure(truth: NDArray[np.uint8], out: NDArray[np.uint8]) -> Measures:
    """Measures of ``out`` (RGBA, any size) against ``truth`` (RGBA)."""
    exact = out.shape[:2] == truth.shape[:2]
    if not exact:
        out = np.asarray(Image.fromarray(out).resize(truth.shape[1::-1], Image.Resampling.NEAREST))
    t_on, o_on = truth[..., 3] > 0, out[..., 3] > 0
    dist = np.linalg.norm(srgb_to_oklab(truth[..., :3]) - srgb_to_oklab(out[..., :3]), axis=-1)
    right = np.where(t_on, o_on & (dist < COLOUR_STEP), ~o_on)
    return Measures(
        size_exact=exact,
        colour_accuracy=float(right.mean()),
        colour_map_agreement=colour_map_agreement(truth, out),
        colours_out=_colours(out),
        colours_truth=_colours(truth),
    )
