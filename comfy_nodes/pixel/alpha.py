"""Background removal on the recovered grid (one decision per sprite pixel), hard alpha.

Modes:

- ``auto``: the picture's own alpha when it has some; otherwise ``border`` plus enclosed
  holes (background seen through a gap, e.g. between arm and body), which must match the
  background more tightly than border-connected cells so sprite colours near the
  background survive. A picture with no background is kept opaque: one whose border is
  not one colour, whose content runs edge to edge (the background would not hold most of
  the border), or whose "foreground" is only scattered specks on a texture (a seamless
  tile); the decision's ``note`` says "kept: no background found" and why;
- ``border``: the dominant border colour, flooded from the border (4-connected);
- ``key``: every pixel near ``key_color``;
- ``none``: only make the existing alpha hard.

Transparent pixels always come out as (0, 0, 0, 0); alpha is 0 or 255.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from .color import norm3, srgb_to_oklab
from .components import connected_labels, label_mask
from .errors import InvalidImageError, InvalidParameterError
from .modes import BACKGROUND_MODES, BackgroundMode

__all__ = [
    "BACKGROUND_MODES",
    "NO_BACKGROUND",
    "BackgroundDecision",
    "BackgroundMode",
    "apply_background",
    "background_distance",
    "decide_background",
    "estimate_background",
    "harden_alpha",
    "remove_background",
]


#: OKLab distance under which a cell is background (border-connected).
DEFAULT_TOLERANCE = 0.09
#: Enclosed holes must be this much closer to the background than border cells.
_HOLE_FACTOR = 0.5
#: Holes may always be this close to the fitted background (OKLab).
_HOLE_MIN = 0.015
#: Border cells this close to the background colour seed the flood.
_SEED_FACTOR = 0.5
#: The border colour must own at least this share of the border to be a background.
_MIN_BORDER_SHARE = 0.4
_PAIR_BLOCK = 32  # border pixels per block of pairwise distances
#: In auto mode the background must hold this share of the border: a sprite may fill a
#: corner, while a tile or scene leaves little of it.
_MIN_BORDER_HOLD = 0.5
#: Content on at least this share of every side runs edge to edge (a tile, not a sprite).
_EDGE_SHARE = 0.1
#: Content on this share of two opposite sides spans the picture (a band, a tiling row).
_SPAN_SHARE = 0.5
#: Foreground parts of at most this many cells are specks, not sprite parts.
_SPECK_CELLS = 3
#: Foreground made mostly (this share) of specks is texture on a seamless tile.
_SPECK_SHARE = 0.5
NO_BACKGROUND = "kept: no background found"

Rgba = NDArray[np.uint8]
Mask = NDArray[np.bool_]


def _check(rgba: Rgba) -> None:
    if not isinstance(rgba, np.ndarray) or rgba.dtype != np.uint8 or rgba.ndim != 3:
        raise InvalidImageError(
            f"rgba: expected uint8 [H, W, 4], got {getattr(rgba, 'dtype', type(rgba))} "
            f"{getattr(rgba, 'shape', None)}"
        )
    if rgba.shape[2] != 4 or rgba.shape[0] < 1 or rgba.shape[1] < 1:
        raise InvalidImageError(f"rgba: expected a non-empty [H, W, 4] image, got {rgba.shape}")


def harden_alpha(rgba: Rgba, threshold: int = 128) -> Rgba:
    """Alpha 0/255 at ``threshold``; transparent pixels zeroed."""
    _check(rgba)
    out = rgba.copy()
    opaque = out[..., 3] >= threshold
    out[..., 3] = np.where(opaque, 255, 0)
    out[~opaque] = 0
    return out


def _border(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    return np.concatenate([rgb[0], rgb[-1], rgb[1:-1, 0], rgb[1:-1, -1]], axis=0)


def estimate_background(
    rgba: Rgba, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[int, int, int] | None:
    """The colour most of the border agrees on, or None when no colour owns the border."""
    _check(rgba)
    border = _border(rgba[..., :3])
    lab = srgb_to_oklab(border).astype(np.float32)
    # The border pixel with the most neighbours within tolerance is the background's core.
    # Pairwise distances in row blocks: small temporaries stay in cache and off mmap.
    votes = np.empty(lab.shape[0], dtype=np.intp)
    for start in range(0, lab.shape[0], _PAIR_BLOCK):
        block = norm3(lab[start : start + _PAIR_BLOCK, None, :] - lab[None, :, :])
        votes[start : start + _PAIR_BLOCK] = (block <= tolerance).sum(axis=1)
    best = int(np.argmax(votes))
    if votes[best] < _MIN_BORDER_SHARE * border.shape[0]:
        return None
    members = border[norm3(lab[best] - lab) <= tolerance]
    med = np.median(members.astype(np.float32), axis=0)
    return (int(med[0]), int(med[1]), int(med[2]))


def background_distance(rgba: Rgba, color: tuple[int, int, int]) -> NDArray[np.float32]:
    """OKLab distance of every pixel to ``color``."""
    lab = srgb_to_oklab(rgba[..., :3]).astype(np.float32)
    ref = srgb_to_oklab(np.array([color], dtype=np.uint8)).astype(np.float32)[0]
    return np.asarray(norm3(lab - ref), dtype=np.float32)


def _components(lab: NDArray[np.float32], cand: Mask, step: float) -> NDArray[np.int32]:
    """Connected regions of candidate cells joined only where neighbours differ by at most
    ``step``: background grows over its own gentle shading, never across a colour edge."""
    h, w = cand.shape
    idx = np.arange(h * w).reshape(h, w)
    eh = cand[:, 1:] & cand[:, :-1] & (norm3(lab[:, 1:] - lab[:, :-1]) <= step)
    ev = cand[1:] & cand[:-1] & (norm3(lab[1:] - lab[:-1]) <= step)
    rows = np.concatenate([idx[:, :-1][eh], idx[:-1][ev]])
    cols = np.concatenate([idx[:, 1:][eh], idx[1:][ev]])
    return connected_labels(h * w, rows, cols).reshape(h, w)


def _step_noise(lab: NDArray[np.float32], near: Mask) -> float:
    """Typical colour step between neighbouring background cells."""
    dh = norm3(lab[:, 1:] - lab[:, :-1])[near[:, 1:] & near[:, :-1]]
    dv = norm3(lab[1:] - lab[:-1])[near[1:] & near[:-1]]
    steps = np.concatenate([dh, dv])
    return float(np.median(steps)) if steps.size else 0.0


def _holes(lab: NDArray[np.float32], background: Mask, tolerance: float) -> Mask:
    """Enclosed background: regions matching what the background would be *at that spot*.

    The background's shading is fitted as a plane in OKLab. A candidate region (4-connected
    cells near that plane) is a hole when its *mean* distance to the plane is within the
    background's own typical scatter: averaging over the region cancels the cells' noise,
    so a sprite colour merely near the background stays.
    """
    h, w = background.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    design = np.stack([np.ones_like(xx), xx, yy], axis=-1)
    coef, *_ = np.linalg.lstsq(design[background], lab[background], rcond=None)
    resid = norm3(lab - design @ coef)
    candidate = ~background & (resid <= tolerance * _HOLE_FACTOR)
    labels, count = label_mask(candidate)
    if count == 0:
        return np.zeros_like(background)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    total = np.bincount(labels.ravel(), weights=resid.ravel(), minlength=count + 1)
    means = total / np.maximum(sizes, 1)
    limit = max(2.0 * float(np.median(resid[background])) + 0.005, _HOLE_MIN)
    accepted = means <= limit
    accepted[0] = False
    return np.asarray(accepted[labels], dtype=bool)


@dataclass(frozen=True)
class BackgroundDecision:
    """Which pixels are background, and how many of the calls were close.

    Attributes:
        mask: True where the pixel becomes transparent.
        ambiguity: Share of pixels within ±30 % of the tolerance from the background.
        note: What was decided and why, in words (for the QA report).
    """

    mask: Mask
    ambiguity: float
    note: str = ""


def _why_no_background(mask: Mask) -> str | None:
    """Why a border flood is not a background (auto mode), or None when it is one."""
    sides = [mask[0], mask[-1], mask[:, 0], mask[:, -1]]
    ring = float(np.concatenate(sides).mean())
    if ring < _MIN_BORDER_HOLD:
        return f"{NO_BACKGROUND} (content covers {1.0 - ring:.0%} of the border)"
    content = [1.0 - float(side.mean()) for side in sides]  # top, bottom, left, right
    spans = min(content[0], content[1]) >= _SPAN_SHARE or min(content[2:]) >= _SPAN_SHARE
    if spans or min(content) >= _EDGE_SHARE:
        return f"{NO_BACKGROUND} (content runs edge to edge)"
    labels, count = label_mask(~mask, diagonal=True)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    if sizes.sum() and sizes[sizes <= _SPECK_CELLS].sum() > _SPECK_SHARE * sizes.sum():
        return f"{NO_BACKGROUND} (the rest is scattered specks: a texture or tile)"
    return None


def _border_mask(rgba: Rgba, tolerance: float, auto: bool) -> BackgroundDecision:
    bg = estimate_background(rgba, tolerance)
    if bg is None:
        note = f"{NO_BACKGROUND} (the border is not one colour)" if auto else "kept: no border"
        return BackgroundDecision(np.zeros(rgba.shape[:2], dtype=bool), 0.0, note)
    lab = srgb_to_oklab(rgba[..., :3]).astype(np.float32)
    ref = srgb_to_oklab(np.array([bg], dtype=np.uint8)).astype(np.float32)[0]
    dist = norm3(lab - ref)
    near = dist <= tolerance
    step = float(np.clip(4.0 * _step_noise(lab, near) + 0.01, 0.02, tolerance))
    labels = _components(lab, dist <= 2.0 * tolerance, step)
    ring = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    # Seeds are border cells that clearly are background; a sprite colour merely near it
    # that touches the border must not seed (it is only reached through a small step).
    seed = dist <= _SEED_FACTOR * tolerance
    ring_near = np.concatenate([seed[0], seed[-1], seed[:, 0], seed[:, -1]])
    mask = np.isin(labels, np.unique(ring[ring_near]))
    kept = _why_no_background(mask) if auto else None
    if kept is not None:
        return BackgroundDecision(np.zeros_like(mask), 0.0, kept)
    if auto and int(mask.sum()) >= 3:
        mask |= _holes(lab, mask, tolerance)
    close = (dist > 0.7 * tolerance) & (dist < 1.3 * tolerance)
    hexbg = "#{:02x}{:02x}{:02x}".format(*bg)
    return BackgroundDecision(mask, float(close.mean()), f"removed: border colour {hexbg}")


def _key_mask(rgba: Rgba, key: tuple[int, int, int] | None, tolerance: float) -> BackgroundDecision:
    if key is None:
        raise InvalidParameterError(
            "key_color: mode 'key' needs a key colour, e.g. key_color=(255, 0, 255)"
        )
    dist = background_distance(rgba, key)
    close = (dist > 0.7 * tolerance) & (dist < 1.3 * tolerance)
    hexkey = "#{:02x}{:02x}{:02x}".format(*key)
    return BackgroundDecision(dist <= tolerance, float(close.mean()), f"removed: key {hexkey}")


def _no_mask(rgba: Rgba, note: str) -> BackgroundDecision:
    return BackgroundDecision(np.zeros(rgba.shape[:2], dtype=bool), 0.0, note)


def _has_alpha(rgba: Rgba) -> bool:
    return bool((rgba[..., 3] < 255).any())


_MaskFn = Callable[[Rgba, "tuple[int, int, int] | None", float], BackgroundDecision]
_MODES: dict[BackgroundMode, _MaskFn] = {
    "auto": lambda img, _k, tol: _border_mask(img, tol, auto=True),
    "border": lambda img, _k, tol: _border_mask(img, tol, auto=False),
    "key": _key_mask,
    "none": lambda img, _k, _t: _no_mask(img, "kept: background removal off"),
}


def decide_background(
    rgba: Rgba,
    mode: str = "auto",
    key_color: tuple[int, int, int] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> BackgroundDecision:
    """Which pixels of a sprite are background (see ``remove_background``).

    Raises:
        InvalidParameterError: unknown mode, bad tolerance, or ``key`` without a colour.
        InvalidImageError: not a uint8 ``[H, W, 4]`` image.
    """
    chosen = cast(BackgroundMode, BACKGROUND_MODES.parse(mode))
    if not 0.0 <= tolerance <= 1.0:
        raise InvalidParameterError(f"tolerance: {tolerance} is outside 0..1")
    _check(rgba)
    if mode == "auto" and _has_alpha(rgba):
        return _no_mask(rgba, "kept: the picture's own alpha")
    return _MODES[chosen](rgba, key_color, tolerance)


def apply_background(rgba: Rgba, decision: BackgroundDecision) -> Rgba:
    """Hard alpha with the decided background transparent, written as (0, 0, 0, 0)."""
    out = harden_alpha(rgba)
    out[decision.mask] = 0
    return out


def remove_background(
    rgba: Rgba,
    mode: str = "auto",
    key_color: tuple[int, int, int] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Rgba:
    """Make the background transparent, one decision per pixel of the (grid-exact) sprite.

    Args:
        rgba: uint8 ``[H, W, 4]`` sprite.
        mode: One of ``BACKGROUND_MODES``.
        key_color: RGB background for ``key`` mode.
        tolerance: OKLab distance still counted as background (0..1).

    Returns:
        A new image with hard alpha; transparent pixels are (0, 0, 0, 0).

    Raises:
        InvalidParameterError: unknown mode, bad tolerance, or ``key`` without a colour.
        InvalidImageError: not a uint8 ``[H, W, 4]`` image.
    """
    return apply_background(rgba, decide_background(rgba, mode, key_color, tolerance))
