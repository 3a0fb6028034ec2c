"""Map an image onto a palette, optionally dithered: none, Floyd–Steinberg, ordered Bayer.

Distances and error diffusion happen in OKLab (perceptual, the default) or in linear RGB
(physically additive light). Fully transparent pixels are never mapped and come out as
(0, 0, 0, 0); they neither receive nor pass on diffusion error, so a sprite's outline does
not leak into its background.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Final, Literal, cast, get_args

import numpy as np
import numpy.typing as npt

from .color import srgb_to_linear, srgb_to_oklab
from .errors import InvalidParameterError
from .image_io import check_rgba
from .modes import DITHER_MODES, DitherMode
from .palette import Palette

__all__ = [
    "DitherMode",
    "DitherSpace",
    "bayer_matrix",
    "dither_to_palette",
    "nearest_palette_index",
    "parse_dither_mode",
]

DitherSpace = Literal["oklab", "linear"]

_SCORE_BUDGET: Final[int] = 16384  # elements of one nearest-colour score chunk

Float64Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
RGBA = npt.NDArray[np.uint8]


def parse_dither_mode(mode: str) -> DitherMode:
    """Validate a dither mode name (``_`` and case are forgiven).

    Raises:
        InvalidParameterError: unknown mode; the message lists the valid ones.
    """
    return cast(DitherMode, DITHER_MODES.parse(mode))


def _to_space(rgb: npt.NDArray[np.uint8], space: DitherSpace) -> Float64Array:
    if space == "oklab":
        return srgb_to_oklab(rgb).astype(np.float64)
    return srgb_to_linear(rgb).astype(np.float64)


def nearest_palette_index(points: Float64Array, targets: Float64Array) -> IndexArray:
    """Index of the nearest target for every point (Euclidean), ``[M]`` from ``[M,3]``/``[N,3]``."""
    # |p - t|² = |p|² - 2 p·t + |t|²; |p|² is the same for every target, so it drops out of
    # the argmin and one matrix product does the work.
    result = np.empty(points.shape[0], dtype=np.intp)
    target_norms = (targets**2).sum(axis=1)
    # Small chunks: a score matrix of ~128 KiB stays in the allocator's heap and in cache;
    # one big matrix is a fresh mmap per call, whose page faults cost 5x the arithmetic.
    step = max(64, _SCORE_BUDGET // max(1, targets.shape[0]))
    for start in range(0, points.shape[0], step):
        chunk = points[start : start + step]
        scores = target_norms[None, :] - 2.0 * (chunk @ targets.T)
        result[start : start + step] = np.argmin(scores, axis=1)
    return result


def _map_nearest(
    rgb: npt.NDArray[np.uint8], palette: Palette, space: DitherSpace, _: Float64Array
) -> IndexArray:
    # Images have far fewer distinct colours than pixels: map each distinct colour once.
    # A packed 1-D key makes the unique pass cheap.
    flat = rgb.reshape(-1, 3).astype(np.uint32)
    keys, inverse = np.unique(
        (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2], return_inverse=True
    )
    unique = np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=1).astype(np.uint8)
    index = nearest_palette_index(_to_space(unique, space), _to_space(palette.colors, space))
    mapped: IndexArray = index[inverse.reshape(-1)].reshape(rgb.shape[:2])
    return mapped


# Floyd–Steinberg's (dx, dy, weight), in the order one wave applies them (see below).
_FS_WAVE_ORDER: Final = ((-1, 1, 3 / 16), (0, 1, 5 / 16), (1, 1, 1 / 16), (1, 0, 7 / 16))


def _fs_waves(
    mask: npt.NDArray[np.bool_],
) -> tuple[IndexArray, list[int], list[IndexArray]]:
    """Opaque pixels in wavefront order, the waves' bounds, and per diffusion direction the
    flat index each pixel passes error to (``H*W``, a sink, where it passes none)."""
    height, width = mask.shape
    yy, xx = np.nonzero(mask)
    wave = xx + 2 * yy
    order = np.argsort(wave, kind="stable")
    yy, xx, wave = yy[order], xx[order], wave[order]
    last = int(wave[-1]) if wave.size else -1
    bounds = np.searchsorted(wave, np.arange(last + 2)).tolist()
    sink = height * width
    flat_mask = mask.reshape(-1)
    dests = []
    for dx, dy, _ in _FS_WAVE_ORDER:
        tx, ty = xx + dx, yy + dy
        inside = (tx >= 0) & (tx < width) & (ty < height)
        dst = np.where(inside, ty * width + tx, sink)
        # Transparent pixels neither receive nor pass on error.
        dests.append(np.where(inside & flat_mask[np.minimum(dst, sink - 1)], dst, sink))
    return yy * width + xx, bounds, dests


def _floyd_steinberg(
    rgb: npt.NDArray[np.uint8], palette: Palette, space: DitherSpace, opaque: Float64Array
) -> IndexArray:
    """Floyd–Steinberg as wavefronts: pixel (x, y) needs only (x-1, y) and three pixels of
    row y-1 up to x+1, so all pixels with the same ``x + 2y`` are independent and one wave
    is a few whole-array steps. Every pixel still gets its error contributions in the
    scanline order (the one pair that can meet in a wave, down-left then right, is applied
    in that order) and distances add the squares in the same order, so the result is bit
    for bit the classic scanline loop's."""
    height, width = rgb.shape[:2]
    work = np.zeros((height * width + 1, 3))
    work[:-1] = _to_space(rgb, space).reshape(-1, 3)
    targets = _to_space(palette.colors, space)
    channels = [np.ascontiguousarray(targets[:, c]) for c in range(3)]
    flat, bounds, dests = _fs_waves(np.asarray(opaque, dtype=bool))
    weights = [weight for _, _, weight in _FS_WAVE_ORDER]
    index = np.zeros(height * width + 1, dtype=np.intp)
    for lo, hi in pairwise(bounds):
        if lo == hi:
            continue
        src = flat[lo:hi]
        value = work[src]
        step = value[:, 0, None] - channels[0]
        distance = step * step
        for c in (1, 2):
            step = value[:, c, None] - channels[c]
            distance += step * step
        chosen = distance.argmin(axis=1)
        index[src] = chosen
        error = value - targets[chosen]
        for dst, weight in zip(dests, weights, strict=True):
            work[dst[lo:hi]] += error * weight
    result: IndexArray = index[:-1].reshape(height, width)
    return result


def bayer_matrix(size: int) -> npt.NDArray[np.int64]:
    """The ``size`` x ``size`` Bayer index matrix (size a power of two), values 0..size²-1."""
    matrix = np.zeros((1, 1), dtype=np.int64)
    while matrix.shape[0] < size:
        matrix = np.block([[4 * matrix, 4 * matrix + 2], [4 * matrix + 3, 4 * matrix + 1]])
    return matrix


def _palette_spread(targets: Float64Array) -> float:
    # Typical gap between neighbouring palette colours: the dither amplitude that lets a
    # value halfway between two colours alternate between them.
    if targets.shape[0] < 2:
        return 0.0
    gaps = np.sqrt(((targets[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(gaps, np.inf)
    return float(np.median(gaps.min(axis=1)))


def _ordered(size: int) -> Callable[..., IndexArray]:
    def apply(
        rgb: npt.NDArray[np.uint8], palette: Palette, space: DitherSpace, _: Float64Array
    ) -> IndexArray:
        height, width = rgb.shape[:2]
        work = _to_space(rgb, space)
        targets = _to_space(palette.colors, space)
        thresholds = (bayer_matrix(size) + 0.5) / (size * size) - 0.5
        tiled = np.tile(thresholds, (height // size + 1, width // size + 1))[:height, :width]
        if space == "oklab":
            # Lightness only: hue stays put, texture reads as shading.
            work[..., 0] += tiled * _palette_spread(targets)
        else:
            work += (tiled * _palette_spread(targets) / np.sqrt(3.0))[..., None]
        return nearest_palette_index(work.reshape(-1, 3), targets).reshape(height, width)

    return apply


_MODES: Final[dict[DitherMode, Callable[..., IndexArray]]] = {
    "none": _map_nearest,
    "floyd-steinberg": _floyd_steinberg,
    "bayer-2": _ordered(2),
    "bayer-4": _ordered(4),
    "bayer-8": _ordered(8),
}


def dither_to_palette(
    rgba: RGBA, palette: Palette, mode: str = "none", space: DitherSpace = "oklab"
) -> RGBA:
    """Map every visible pixel of `rgba` to a palette colour, dithering as `mode` says.

    Args:
        rgba: ``[H, W, 4]`` uint8 image.
        palette: the colours allowed in the result.
        mode: one of `DitherMode`.
        space: ``"oklab"`` or ``"linear"``: where distances and diffusion are computed.

    Returns:
        A new ``[H, W, 4]`` uint8 image; alpha is kept, fully transparent pixels are zeroed.

    Raises:
        InvalidParameterError: unknown mode or space.
    """
    image = check_rgba(rgba)
    chosen_mode = parse_dither_mode(mode)
    if space not in get_args(DitherSpace):
        raise InvalidParameterError(
            f"space={space!r} is unknown; choose one of: {', '.join(get_args(DitherSpace))}"
        )
    opaque = image[..., 3] > 0
    index = _MODES[chosen_mode](image[..., :3], palette, space, opaque)
    result = np.zeros_like(image)
    result[..., :3] = palette.colors[index]
    result[..., 3] = image[..., 3]
    result[~opaque] = 0
    return result
