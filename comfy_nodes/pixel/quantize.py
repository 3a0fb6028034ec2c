"""Build a small palette from images (perceptual k-means or median cut in OKLab) and map
images onto a palette.

Both methods are deterministic: k-means is seeded (k-means++ from `seed`), median cut has
no randomness. Transparent pixels (alpha < 128) never vote, and several images can share
one palette so a whole sprite set uses the same colours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt

from .color import oklab_to_srgb, srgb_to_oklab
from .dither import DitherSpace, dither_to_palette, nearest_palette_index
from .errors import InvalidImageError, InvalidParameterError
from .image_io import check_rgba
from .modes import PALETTE_SIZES
from .palette import MAX_PALETTE_COLORS, Palette

__all__ = [
    "MIN_PALETTE_COLORS",
    "QuantizeMethod",
    "build_palette",
    "check_n_colors",
    "map_to_palette",
]

QuantizeMethod = Literal["kmeans", "median_cut"]
MIN_PALETTE_COLORS: Final[int] = PALETTE_SIZES.minimum

Float64Array = npt.NDArray[np.float64]
RGBA = npt.NDArray[np.uint8]
_MAX_POINTS: Final[int] = 65536  # distinct colours k-means looks at; more are sampled
_KMEANS_ITERATIONS: Final[int] = 40
_REFINE_ITERATIONS: Final[int] = 3
_COARSE_ABOVE: Final[int] = 1024  # distinct colours above which the coarse pass pays off
_COARSE_STEP: Final[float] = 1.0 / 96.0  # OKLab cell edge: below a just-noticeable step


def check_n_colors(n_colors: int) -> int:
    """Validate a palette size.

    Raises:
        InvalidParameterError: `n_colors` outside 2..256; the message names ``colors``.
    """
    if isinstance(n_colors, bool) or not isinstance(n_colors, int | np.integer):
        raise InvalidParameterError(f"colors={n_colors!r} must be a whole number from 2 to 256")
    if not MIN_PALETTE_COLORS <= int(n_colors) <= MAX_PALETTE_COLORS:
        raise InvalidParameterError(
            f"colors={n_colors} is out of range; choose {MIN_PALETTE_COLORS}..{MAX_PALETTE_COLORS}"
        )
    return int(n_colors)


def _weighted_colors(images: Sequence[RGBA]) -> tuple[npt.NDArray[np.uint8], Float64Array]:
    pixels = [check_rgba(image, f"images[{i}]") for i, image in enumerate(images)]
    opaque = np.concatenate([image[image[..., 3] >= 128][:, :3] for image in pixels])
    if opaque.shape[0] == 0:
        raise InvalidImageError("images have no opaque pixels to build a palette from")
    # One packed integer per colour: a 1-D unique is far faster than unique(axis=0).
    packed = (opaque[:, 0].astype(np.uint32) << 16) | (opaque[:, 1].astype(np.uint32) << 8)
    packed |= opaque[:, 2]
    keys, counts = np.unique(packed, return_counts=True)
    unique = np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=1)
    return unique.astype(np.uint8), counts.astype(np.float64)


def _weighted_pick(score: Float64Array, rng: np.random.Generator) -> int:
    # Inverse-CDF sampling: the same draw as rng.choice(p=...), without its O(n) checks.
    cumulative = np.cumsum(score)
    return int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))


def _kmeans_pp_init(
    points: Float64Array, weights: Float64Array, k: int, rng: np.random.Generator
) -> Float64Array:
    centers = [points[_weighted_pick(weights, rng)]]
    nearest = ((points - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        score = nearest * weights
        if score.sum() <= 0.0:
            break
        centers.append(points[_weighted_pick(score, rng)])
        nearest = np.minimum(nearest, ((points - centers[-1]) ** 2).sum(axis=1))
    return np.array(centers)


def _weighted_means(
    labels: npt.NDArray[np.intp], points: Float64Array, weights: Float64Array, count: int
) -> tuple[Float64Array, Float64Array]:
    mass = np.bincount(labels, weights=weights, minlength=count).astype(np.float64)
    totals = np.stack(
        [np.bincount(labels, weights=points[:, a] * weights, minlength=count) for a in range(3)],
        axis=1,
    )
    return totals / np.maximum(mass, 1e-12)[:, None], mass


def _lloyd(
    points: Float64Array, weights: Float64Array, centers: Float64Array, iterations: int
) -> Float64Array:
    labels = nearest_palette_index(points, centers)
    for _ in range(iterations):
        means, mass = _weighted_means(labels, points, weights, centers.shape[0])
        centers = np.where((mass > 0)[:, None], means, centers)
        new_labels = nearest_palette_index(points, centers)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centers


def _coarse(points: Float64Array, weights: Float64Array) -> tuple[Float64Array, Float64Array]:
    """Merge points that share an OKLab cell into their weighted mean (exact for lone points)."""
    cells = np.floor(points / _COARSE_STEP).astype(np.int64) + 512  # OKLab spans < ±512 cells
    keys = (cells[:, 0] << 20) | (cells[:, 1] << 10) | cells[:, 2]
    _, inverse = np.unique(keys, return_inverse=True)
    labels = inverse.reshape(-1).astype(np.intp)
    return _weighted_means(labels, points, weights, int(labels.max()) + 1)


def _kmeans(points: Float64Array, weights: Float64Array, k: int, seed: int) -> Float64Array:
    rng = np.random.default_rng(seed)
    if points.shape[0] > _COARSE_ABOVE:
        # Noisy images: solve on merged near-duplicates, then polish on every colour.
        coarse, mass = _coarse(points, weights)
        centers = _lloyd(coarse, mass, _kmeans_pp_init(coarse, mass, k, rng), _KMEANS_ITERATIONS)
        return _lloyd(points, weights, centers, _REFINE_ITERATIONS)
    return _lloyd(points, weights, _kmeans_pp_init(points, weights, k, rng), _KMEANS_ITERATIONS)


def _median_cut(points: Float64Array, weights: Float64Array, k: int, seed: int) -> Float64Array:
    del seed  # median cut has no randomness; the argument keeps the registry uniform
    if points.shape[0] > _COARSE_ABOVE:
        points, weights = _coarse(points, weights)
    boxes = [np.arange(points.shape[0])]
    spans = [np.ptp(points, axis=0)]
    while len(boxes) < k:
        widest = int(np.argmax([span.max() for span in spans]))
        if spans[widest].max() <= 0.0:
            break
        box = boxes.pop(widest)
        axis = int(np.argmax(spans.pop(widest)))
        ordered = box[np.argsort(points[box, axis], kind="stable")]
        cumulative = np.cumsum(weights[ordered])
        cut = int(np.searchsorted(cumulative, cumulative[-1] / 2.0)) + 1
        cut = min(max(cut, 1), ordered.size - 1)  # both halves keep at least one colour
        for half in (ordered[:cut], ordered[cut:]):
            boxes.append(half)
            spans.append(np.ptp(points[half], axis=0))
    return np.array([np.average(points[box], axis=0, weights=weights[box]) for box in boxes])


_METHODS: Final[
    dict[QuantizeMethod, Callable[[Float64Array, Float64Array, int, int], Float64Array]]
] = {
    "kmeans": _kmeans,
    "median_cut": _median_cut,
}


def _ordered_palette(name: str, colors: npt.NDArray[np.uint8]) -> Palette:
    # Dark to light (then by a, b): stable, readable swatches and reproducible files.
    unique = np.unique(colors, axis=0)
    lab = srgb_to_oklab(unique)
    order = np.lexsort((lab[:, 2], lab[:, 1], lab[:, 0]))
    return Palette(name=name, colors=unique[order])


def build_palette(
    images: Sequence[RGBA] | RGBA,
    n_colors: int = 16,
    method: str = "kmeans",
    seed: int = 0,
) -> Palette:
    """Build one palette of at most `n_colors` from all opaque pixels of `images`.

    Args:
        images: one ``[H, W, 4]`` uint8 image or several that should share the palette.
        n_colors: 2..256. Fewer colours come back when the images hold fewer.
        method: ``"kmeans"`` (perceptual, best quality) or ``"median_cut"`` (fast).
        seed: seeds k-means++; the same inputs and seed give the same palette.

    Raises:
        InvalidParameterError: `n_colors` out of range or unknown `method`.
        InvalidImageError: a malformed image, or no opaque pixel at all.
    """
    k = check_n_colors(n_colors)
    if method not in _METHODS:
        valid = ", ".join(get_args(QuantizeMethod))
        raise InvalidParameterError(f"method={method!r} is unknown; choose one of: {valid}")
    batch = [images] if isinstance(images, np.ndarray) and images.ndim == 3 else list(images)
    unique, counts = _weighted_colors(batch)
    if unique.shape[0] <= k:
        return _ordered_palette(f"{method}-{k}", unique)
    if unique.shape[0] > _MAX_POINTS:
        rng = np.random.default_rng(seed)
        keep = np.sort(
            rng.choice(unique.shape[0], _MAX_POINTS, replace=False, p=counts / counts.sum())
        )
        unique, counts = unique[keep], counts[keep]
    centers = _METHODS[method](srgb_to_oklab(unique).astype(np.float64), counts, k, seed)
    return _ordered_palette(f"{method}-{k}", oklab_to_srgb(centers))


def map_to_palette(
    rgba: RGBA, palette: Palette, dither: str = "none", space: DitherSpace = "oklab"
) -> RGBA:
    """Replace every visible pixel with a palette colour (nearest in OKLab, or dithered).

    Alpha is kept; fully transparent pixels come out as (0, 0, 0, 0).
    """
    return dither_to_palette(rgba, palette, mode=dither, space=space)
