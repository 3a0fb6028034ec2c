"""Pixel-grid detection: find the cell size and phase of pseudo pixel art.

SDXL paints "pixel art" as a 1024² picture whose cells are 8–64 px wide, blurred, noisy,
JPEG-compressed and rarely aligned to (0, 0). This module recovers that lattice from edge
energy alone, per axis:

1. Edge profiles: absolute colour differences between neighbouring columns (rows), summed
   along the other axis on a subsampled image, minus the noise floor.
2. Edge peaks: local maxima with sub-pixel positions, weighted by the square root of their
   height so the silhouette does not drown interior detail.
3. Period: the peaks' circular concentration ``R(p) = |Σ w·exp(2πi·x/p)| / Σ w`` over a grid
   that is uniform in frequency. True cells and their sub-multiples score high, multiples
   do not; the largest period scoring near the best is the fundamental. JPEG's 8-px block
   edges are weak and spread over every phase of a large true cell, so they cannot win.
4. Refinement: a weighted least-squares fit of period and phase to the peaks assigned to
   lattice lines, then each line is snapped to its own peak (small wobble).

A requested size is a prior: it narrows the search to periods near ``image / size`` and
fixes the cell count, but the phase and exact period still come from the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from .errors import GridDoesNotFitError, InvalidImageError, InvalidParameterError

__all__ = ["GridEstimate", "detect_grid", "detect_grid_frames", "grid_from_size"]

_MIN_PERIOD = 2.0
_MIN_CELLS = 6
_HARMONIC_KEEP = 0.9
_MAX_PEAKS = 192
_BINS_PER_PX = 8
_CLEAN_MAX_SIDE = 512
_CLEAN_CONFIDENCE = 0.5
_CLEAN_UNIFORMITY = 0.6
_UNIFORM_SPREAD = 60
_PARTIAL_ALWAYS = 0.8
#: Share of exactly equal neighbour pixels above which a picture is lossless pixel art.
_CRISP_SHARE = 0.3
_CRISP_MAX_COLORS = 256
_DISTINCT_L1 = 45
_DISTINCT_SHARE = 0.03
_BLOCK_RETRY_CONFIDENCE = 0.35
_BLOCK_PERIOD_TOL = 0.1

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GridEstimate:
    """A pixel lattice over an image.

    Attributes:
        cell_w: Cell width in source pixels (may be fractional).
        cell_h: Cell height in source pixels.
        offset_x: X of the left edge of the first cell (may be negative by less than a cell).
        offset_y: Y of the top edge of the first cell.
        cols: Number of cells across (the sprite's width).
        rows: Number of cells down (the sprite's height).
        confidence: 0..1, how strongly the picture's edges agree with this lattice.
        already_clean: True when the input already is a true-size sprite (1 px per cell).
        edges_x: Optional per-line x positions (``cols + 1`` values) that follow wobble.
        edges_y: Optional per-line y positions (``rows + 1`` values).
    """

    cell_w: float
    cell_h: float
    offset_x: float
    offset_y: float
    cols: int
    rows: int
    confidence: float
    already_clean: bool = False
    edges_x: tuple[float, ...] | None = None
    edges_y: tuple[float, ...] | None = None

    def lines_x(self) -> FloatArray:
        """X positions of the ``cols + 1`` vertical cell boundaries."""
        if self.edges_x is not None:
            return np.asarray(self.edges_x, dtype=np.float64)
        return np.asarray(self.offset_x + np.arange(self.cols + 1) * self.cell_w, np.float64)

    def lines_y(self) -> FloatArray:
        """Y positions of the ``rows + 1`` horizontal cell boundaries."""
        if self.edges_y is not None:
            return np.asarray(self.edges_y, dtype=np.float64)
        return np.asarray(self.offset_y + np.arange(self.rows + 1) * self.cell_h, np.float64)

    def to_dict(self) -> dict[str, float | int | bool]:
        """JSON-able summary (per-line edges left out)."""
        return {
            "cell_w": round(self.cell_w, 4),
            "cell_h": round(self.cell_h, 4),
            "offset_x": round(self.offset_x, 4),
            "offset_y": round(self.offset_y, 4),
            "cols": self.cols,
            "rows": self.rows,
            "confidence": round(self.confidence, 4),
            "already_clean": self.already_clean,
        }


@dataclass(frozen=True)
class _Peaks:
    pos: FloatArray
    weight: FloatArray


def _check_image(image: NDArray[np.uint8]) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] not in (3, 4):
        shape = getattr(image, "shape", None)
        raise InvalidImageError(
            f"image: expected a uint8 array [H, W, 3|4], got shape {shape}; "
            "load it with image_io.load_image"
        )
    if image.dtype != np.uint8:
        raise InvalidImageError(f"image: expected dtype uint8, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidImageError(f"image: empty image of shape {image.shape[:2]}")


def _edge_profile(rgb: NDArray[np.uint8], axis: int) -> FloatArray:
    """Noise-floor-subtracted edge energy between neighbouring columns (axis=1) or rows.

    Works on every 4th row (column) in uint8 with a contiguous reduction, which keeps a
    1024² picture near one millisecond per axis.
    """
    step = max(1, rgb.shape[1 - axis] // 256)
    if axis == 1:
        sub = rgb[::step, :, :3]
    else:
        sub = np.ascontiguousarray(rgb[:, ::step, :3].transpose(1, 0, 2))
    a, b = sub[:, 1:], sub[:, :-1]
    d = np.maximum(a, b)
    d -= np.minimum(a, b)
    flat = d.reshape(d.shape[0], -1).sum(axis=0, dtype=np.uint32)
    prof = flat.reshape(-1, sub.shape[2]).sum(axis=1).astype(np.float64)
    if prof.size == 0:
        return np.zeros(0)
    return np.asarray(np.clip(prof - float(np.median(prof)), 0.0, None), np.float64)


def _suppress_block_grid(prof: FloatArray, modulus: int) -> FloatArray:
    """Remove a fixed-phase periodic background of period ``modulus`` (JPEG's 8-px blocks,
    its 2-px chroma subsampling): each phase loses its median excess over the quietest phase,
    so the sparse true edges that happen to fall on block lines stay."""
    n = prof.size - prof.size % modulus
    if n < 4 * modulus:
        return prof
    med = np.median(prof[:n].reshape(-1, modulus), axis=0)
    excess = med - float(med.min())
    out = prof.copy()
    out[: prof.size] -= np.resize(excess, prof.size)
    return np.clip(out, 0.0, None)


def _looks_like_block_grid(period: float) -> bool:
    """Whether a period is JPEG's 8-px block size or a sub-multiple (chroma ripple). Any
    phase counts: a cropped JPEG keeps its blocks but not their alignment to (0, 0)."""
    return any(abs(period - m) <= _BLOCK_PERIOD_TOL for m in (2.0, 4.0, 8.0))


def _find_peaks(prof: FloatArray) -> _Peaks:
    """Local maxima of a profile; positions are boundary coordinates (between px i and i+1)."""
    if prof.size < 3 or float(prof.max()) <= 0.0:
        return _Peaks(np.zeros(0), np.zeros(0))
    left, mid, right = prof[:-2], prof[1:-1], prof[2:]
    # Prominence over the lowest value within 3 px on either side: blur keeps true edges
    # prominent, while JPEG chroma ripple and noise make shallow bumps.
    floor = ndimage.minimum_filter1d(prof, size=7, mode="nearest")[1:-1]
    prom = mid - floor
    thr = 0.05 * float(prom.max())
    idx = np.nonzero((mid >= left) & (mid > right) & (prom > thr))[0] + 1
    if idx.size > _MAX_PEAKS:
        idx = np.sort(idx[np.argsort(prom[idx - 1])[-_MAX_PEAKS:]])
    lo, c, hi = prof[idx - 1], prof[idx], prof[idx + 1]
    den = lo - 2.0 * c + hi
    delta = np.where(den < 0, 0.5 * (lo - hi) / np.where(den < 0, den, -1.0), 0.0)
    return _Peaks(idx + 1.0 + np.clip(delta, -0.5, 0.5), prom[idx - 1])


def _concentration(peaks: _Peaks, periods: FloatArray) -> FloatArray:
    """Weighted circular concentration of peak positions for each candidate period."""
    if peaks.pos.size == 0:
        return np.zeros_like(periods)
    theta = (2.0 * np.pi / periods)[:, None] * peaks.pos[None, :]
    w = peaks.weight
    re = np.cos(theta) @ w
    im = np.sin(theta) @ w
    return np.asarray(np.hypot(re, im) / w.sum(), dtype=np.float64)


def _candidate_periods(length: int, lo: float, hi: float) -> FloatArray:
    """Periods uniform in frequency, fine enough to stay phase-coherent across ``length``."""
    f_hi, f_lo = 1.0 / lo, 1.0 / hi
    n = int(np.ceil((f_hi - f_lo) * length * 4.0)) + 2
    return np.asarray(1.0 / np.linspace(f_lo, f_hi, n), dtype=np.float64)


def _spectrum(peaks: _Peaks, length: int, lo: float, hi: float) -> tuple[FloatArray, FloatArray]:
    """``R(p)`` for all periods in ``[lo, hi]`` at once: the FFT of the peaks binned at
    1/8 px, zero-padded 4× so neighbouring frequencies differ by a quarter cycle over the
    picture (what a fractional period needs to stay coherent)."""
    n = length * _BINS_PER_PX
    size = n * 4
    k_lo, k_hi = int(np.ceil(size / (_BINS_PER_PX * hi))), int(size / (_BINS_PER_PX * lo))
    k = np.arange(k_lo, k_hi + 1)
    periods = size / (_BINS_PER_PX * k.astype(np.float64))
    if peaks.pos.size == 0:
        return periods, np.zeros(k.size)
    idx = np.clip(np.rint(peaks.pos * _BINS_PER_PX).astype(np.intp), 0, n - 1)
    hist = np.bincount(idx, weights=peaks.weight, minlength=n)
    spec = np.abs(np.fft.rfft(hist, size))[k_lo : k_hi + 1]
    return periods, np.asarray(spec / peaks.weight.sum(), dtype=np.float64)


def _pick_fundamental(periods: FloatArray, score: FloatArray) -> float:
    """The largest period scoring near the best: sub-multiples score as high, multiples less."""
    padded = np.concatenate([[-1.0], score, [-1.0]])
    # Local maxima only, so a shoulder of the best peak is not taken for a longer period.
    local = (score >= padded[:-2]) & (score >= padded[2:])
    ok = np.nonzero(local & (score >= _HARMONIC_KEEP * float(score.max())))[0]
    if ok.size == 0:
        return float(periods[int(np.argmax(score))])
    return float(periods[ok].max())


def _refine(peaks: _Peaks, period: float) -> tuple[float, float, float]:
    """Least-squares period and phase from peaks near lattice lines; returns (p, phase, R)."""
    pos, w = peaks.pos, peaks.weight
    phase = 0.0
    for _ in range(3):
        ang = 2.0 * np.pi * pos / period
        phase = float(np.angle(np.sum(w * np.exp(1j * ang)))) / (2.0 * np.pi) * period
        k = np.round((pos - phase) / period)
        resid = pos - (phase + k * period)
        tol = max(1.0, 0.2 * period)
        inl = np.abs(resid) <= tol
        if int(inl.sum()) < 3 or np.ptp(k[inl]) < 2:
            break
        a = np.stack([np.ones(int(inl.sum())), k[inl]], axis=1) * w[inl, None]
        sol, *_ = np.linalg.lstsq(a, pos[inl] * w[inl], rcond=None)
        if not 0.9 * period < sol[1] < 1.1 * period:
            break
        period = float(sol[1])
    score = float(_concentration(peaks, np.array([period]))[0])
    return period, phase % period, score


def _line(frames: Sequence[NDArray[np.uint8]], axis: int, at: float) -> NDArray[np.int16]:
    """The pixels of one column (axis=1) or row (axis=0) at ``at``, every 4th, all frames."""
    idx = int(np.clip(at, 0, frames[0].shape[axis] - 1))
    parts = [f[::4, idx, :3] if axis == 1 else f[idx, ::4, :3] for f in frames]
    return np.concatenate(parts).astype(np.int16)


def _distinct(frames: Sequence[NDArray[np.uint8]], axis: int, a: float, b: float) -> bool:
    """Whether the lines at ``a`` and ``b`` differ somewhere (beyond noise and JPEG)."""
    diff = np.abs(_line(frames, axis, a) - _line(frames, axis, b)).sum(axis=-1)
    return bool((diff > _DISTINCT_L1).mean() > _DISTINCT_SHARE)


def _keep_partial(coverage: float, distinct: bool) -> bool:
    """A cut-off border cell is a cell when most of it is in and it differs from its
    neighbour; one identical to its neighbour is that cell's overflow (a wider cell)."""
    return coverage >= _PARTIAL_ALWAYS or (coverage >= 0.5 and distinct)


def _lattice(
    length: int, period: float, phase: float, frames: Sequence[NDArray[np.uint8]], axis: int
) -> FloatArray:
    """Cell boundaries covering ``length``, deciding each cut-off border cell on its own."""
    first = phase % period
    if first > 0.0 and _keep_partial(
        first / period, _distinct(frames, axis, first / 2.0, first + period / 2.0)
    ):
        first -= period
    n = int(np.floor((length - first) / period))
    start = first + n * period
    tail = (length - start) / period
    if tail > 0.0 and _keep_partial(
        tail, _distinct(frames, axis, start + tail * period / 2.0, start - period / 2.0)
    ):
        n += 1
    return np.asarray(first + np.arange(max(n, 1) + 1) * period, np.float64)


def _lattice_count(length: int, period: float, phase: float, count: int) -> FloatArray:
    """``count`` cells with the detected phase, centred on the picture."""
    first = phase % period
    shift = np.round(((length - count * period) / 2.0 - first) / period)
    return np.asarray(first + shift * period + np.arange(count + 1) * period, np.float64)


def _snap_lines(lines: FloatArray, peaks: _Peaks, period: float) -> FloatArray:
    """Move each lattice line to its own nearby edge peak, following small wobble."""
    if peaks.pos.size == 0:
        return lines
    j = np.searchsorted(peaks.pos, lines)
    cand = np.stack([np.clip(j - 1, 0, peaks.pos.size - 1), np.clip(j, 0, peaks.pos.size - 1)])
    dist = np.abs(peaks.pos[cand] - lines[None, :])
    pick = cand[np.argmin(dist, axis=0), np.arange(lines.size)]
    near = np.abs(peaks.pos[pick] - lines) <= min(2.0, 0.15 * period)
    strong = peaks.weight[pick] >= 0.25 * float(np.median(peaks.weight))
    out = np.where(near & strong, peaks.pos[pick], lines)
    # Keep lines ordered and at least half a cell apart.
    gaps = np.diff(out)
    return out if bool(np.all(gaps > 0.5 * period)) else lines


def grid_from_size(width: int, height: int, cols: int, rows: int) -> GridEstimate:
    """A plain lattice of ``cols × rows`` cells stretched over the whole image.

    Raises:
        GridDoesNotFitError: when a cell would be smaller than one pixel.
    """
    if cols < 1 or rows < 1 or cols > width or rows > height:
        raise GridDoesNotFitError(
            f"size: {cols}x{rows} cells do not fit a {width}x{height} image; "
            "ask for at most one cell per pixel"
        )
    return GridEstimate(width / cols, height / rows, 0.0, 0.0, cols, rows, 1.0, cols == width)


def _check_hint(size_hint: tuple[int, int], width: int, height: int) -> None:
    cols, rows = size_hint
    if cols < 1 or rows < 1 or cols > width or rows > height:
        raise GridDoesNotFitError(
            f"size_hint: {cols}x{rows} does not fit a {width}x{height} image; "
            f"use 1..{width} x 1..{height} or None for automatic"
        )


def _clean_grid(width: int, height: int) -> GridEstimate:
    return GridEstimate(1.0, 1.0, 0.0, 0.0, width, height, 1.0, True)


@dataclass(frozen=True)
class _AutoFit:
    fx: tuple[float, float, float]
    fy: tuple[float, float, float]
    px: _Peaks
    py: _Peaks
    confidence: float


def _auto_fit(
    prof_x: FloatArray, prof_y: FloatArray, length: int, lo: float, hi: float
) -> _AutoFit:
    """Fit both axes; cells are square, so both axes vote on one period first."""
    px, py = _find_peaks(prof_x), _find_peaks(prof_y)
    periods, sx = _spectrum(px, length, lo, hi)
    _, sy = _spectrum(py, length, lo, hi)
    nx, ny = float(px.weight.sum()), float(py.weight.sum())
    joint = (sx * nx + sy * ny) / max(nx + ny, 1e-9)
    p0 = _pick_fundamental(periods, joint)
    fx, fy = _refine(px, p0), _refine(py, p0)
    confidence = float(np.clip((fx[2] * nx + fy[2] * ny) / max(nx + ny, 1e-9), 0.0, 1.0))
    return _AutoFit(fx, fy, px, py, confidence)


def detect_grid(image: NDArray[np.uint8], size_hint: tuple[int, int] | None = None) -> GridEstimate:
    """Detect the pixel lattice of a (pseudo) pixel-art image.

    Args:
        image: uint8 ``[H, W, 3|4]`` picture.
        size_hint: Optional ``(cols, rows)`` the caller expects; a prior that narrows the
            period search and fixes the cell count, not a blind resize.

    Returns:
        The lattice, with a 0..1 confidence; ``already_clean`` for true-size sprites.

    Raises:
        InvalidImageError: not a uint8 ``[H, W, 3|4]`` array or empty.
        GridDoesNotFitError: the hint asks for more cells than pixels.
        InvalidParameterError: a malformed hint.
    """
    return detect_grid_frames([image], size_hint)


def detect_grid_frames(
    images: Sequence[NDArray[np.uint8]], size_hint: tuple[int, int] | None = None
) -> GridEstimate:
    """One lattice shared by same-size frames (animation, a sheet's cells): their edge
    profiles add up, so every frame votes on one cell size and one phase.

    Raises:
        InvalidImageError: no frames, a malformed frame, or frames of different sizes.
        GridDoesNotFitError: the hint asks for more cells than pixels.
    """
    if len(images) == 0:
        raise InvalidImageError("images: no frames given; pass at least one image")
    for image in images:
        _check_image(image)
    height, width = images[0].shape[:2]
    if any(im.shape[:2] != (height, width) for im in images):
        sizes = sorted({f"{im.shape[1]}x{im.shape[0]}" for im in images})
        raise InvalidImageError(f"images: frames must share one size, got {', '.join(sizes)}")
    prof_x = np.sum([_edge_profile(im, 1) for im in images], axis=0)
    prof_y = np.sum([_edge_profile(im, 0) for im in images], axis=0)
    if size_hint is not None:
        if len(size_hint) != 2:
            raise InvalidParameterError(f"size_hint: expected (cols, rows), got {size_hint!r}")
        _check_hint(size_hint, width, height)
        return _detect_with_hint(prof_x, prof_y, width, height, size_hint)
    return _detect_auto(prof_x, prof_y, width, height, images)


def _change_gaps(frames: Sequence[NDArray[np.uint8]], axis: int, step: int) -> NDArray[np.int64]:
    """Distances between consecutive colour changes along ``axis`` (every ``step``-th line)."""
    gaps: list[NDArray[np.int64]] = []
    for image in frames:
        lines = image[::step] if axis == 1 else np.swapaxes(image[:, ::step], 0, 1)
        change = np.any(lines[:, 1:] != lines[:, :-1], axis=-1)
        for row in change:
            pos = np.flatnonzero(row) + 1
            if pos.size >= 2:
                gaps.append(np.diff(pos))
    return np.concatenate(gaps) if gaps else np.zeros(0, np.int64)


def _few_colors(image: NDArray[np.uint8]) -> bool:
    """Lossless pixel art has a handful of colours; noisy or JPEG pictures have thousands."""
    step = 4 if image.shape[0] * image.shape[1] > 65536 else 1
    sub = image[::step, ::step, :3].reshape(-1, 3).astype(np.uint32)
    packed = (sub[:, 0] << 16) | (sub[:, 1] << 8) | sub[:, 2]
    head = np.unique(packed[:4096])  # most noisy pictures fail on a small sample already
    if head.size > _CRISP_MAX_COLORS:
        return False
    return int(np.unique(packed).size) <= _CRISP_MAX_COLORS


def _crisp_period(frames: Sequence[NDArray[np.uint8]], axis: int) -> int | None:
    """The exact block size of a lossless (PNG) nearest-neighbour picture, or None when the
    picture is not crisp (noise, blur or JPEG make neighbouring pixels differ)."""
    image = frames[0][..., :3]
    if image.shape[0] < 2 or image.shape[1] < 2:
        return None
    step = 4 if image.shape[1 - axis] > 256 else 1
    if axis == 1:
        same = image[::step, 1:] == image[::step, :-1]
    else:
        same = image[1:, ::step] == image[:-1, ::step]
    if float(np.all(same, axis=-1).mean()) < _CRISP_SHARE:
        return None
    gaps = _change_gaps([f[..., :3] for f in frames], axis, step)
    return int(np.gcd.reduce(gaps)) if gaps.size else None


def _crisp_grid(
    frames: Sequence[NDArray[np.uint8]], width: int, height: int
) -> GridEstimate | None:
    """Grid of a crisp picture by the greatest common divisor of its runs: 1 = already clean."""
    if not _few_colors(frames[0]):
        return None
    kx, ky = _crisp_period(frames, 1), _crisp_period(frames, 0)
    if kx is None or ky is None:
        return None
    if kx == 1 or ky == 1:
        return _clean_grid(width, height)
    image = frames[0][..., :3]
    first_x = int(np.flatnonzero(np.any(image[:, 1:] != image[:, :-1], axis=(0, 2)))[0]) + 1
    first_y = int(np.flatnonzero(np.any(image[1:] != image[:-1], axis=(1, 2)))[0]) + 1
    fits = ((float(kx), float(first_x % kx), 1.0), (float(ky), float(first_y % ky), 1.0))
    return _assemble(
        width, height, fits, (_Peaks(np.zeros(0), np.zeros(0)),) * 2, 1.0, None, frames
    )


def _detect_auto(
    prof_x: FloatArray,
    prof_y: FloatArray,
    width: int,
    height: int,
    frames: Sequence[NDArray[np.uint8]],
) -> GridEstimate:
    crisp = _crisp_grid(frames, width, height)
    if crisp is not None:
        return crisp
    short = min(width, height)
    hi = short / _MIN_CELLS
    lo = max(_MIN_PERIOD, short / 256.0)
    if hi <= lo:
        return _clean_grid(width, height)
    fit = _auto_fit(prof_x, prof_y, max(width, height), lo, hi)
    if _looks_like_block_grid(fit.fx[0]):
        # The winner sits on JPEG's block lattice: look again without the block edges.
        clean_x = _suppress_block_grid(_suppress_block_grid(prof_x, 8), 2)
        clean_y = _suppress_block_grid(_suppress_block_grid(prof_y, 8), 2)
        again = _auto_fit(clean_x, clean_y, max(width, height), lo, hi)
        if again.confidence >= _BLOCK_RETRY_CONFIDENCE and not _looks_like_block_grid(again.fx[0]):
            fit = again
    grid = _assemble(
        width, height, (fit.fx, fit.fy), (fit.px, fit.py), fit.confidence, None, frames
    )
    if max(width, height) <= _CLEAN_MAX_SIDE and (
        fit.confidence < _CLEAN_CONFIDENCE or _uniformity(frames, grid) < _CLEAN_UNIFORMITY
    ):
        return _clean_grid(width, height)
    return grid


def _uniformity(frames: Sequence[NDArray[np.uint8]], grid: GridEstimate) -> float:
    """Share of cells whose inside is one colour: near 1 for pixel art on its true grid,
    low for a lattice imagined on a sprite that already is true size."""
    xs, ys = grid.lines_x(), grid.lines_y()
    fx = np.array([0.3, 0.7])
    px = np.clip(
        (xs[:-1, None] + np.diff(xs)[:, None] * fx).astype(np.intp), 0, frames[0].shape[1] - 1
    )
    py = np.clip(
        (ys[:-1, None] + np.diff(ys)[:, None] * fx).astype(np.intp), 0, frames[0].shape[0] - 1
    )
    scores = []
    for image in frames:
        block = image[py[:, None, :, None], px[None, :, None, :], :3].astype(np.int16)
        spread = (block.max(axis=(2, 3)) - block.min(axis=(2, 3))).sum(axis=-1)
        scores.append(float((spread <= _UNIFORM_SPREAD).mean()))
    return float(np.mean(scores))


def _assemble(
    width: int,
    height: int,
    fits: tuple[tuple[float, float, float], tuple[float, float, float]],
    peaks: tuple[_Peaks, _Peaks],
    confidence: float,
    counts: tuple[int, int] | None,
    frames: Sequence[NDArray[np.uint8]] = (),
) -> GridEstimate:
    (pw, phx, _), (ph, phy, _) = fits
    if counts is None:
        lx = _lattice(width, pw, phx, frames, 1)
        ly = _lattice(height, ph, phy, frames, 0)
    else:
        lx = _lattice_count(width, pw, phx, counts[0])
        ly = _lattice_count(height, ph, phy, counts[1])
    ex = _snap_lines(lx, peaks[0], pw)
    ey = _snap_lines(ly, peaks[1], ph)
    return GridEstimate(
        cell_w=pw,
        cell_h=ph,
        offset_x=float(lx[0]),
        offset_y=float(ly[0]),
        cols=lx.size - 1,
        rows=ly.size - 1,
        confidence=confidence,
        already_clean=False,
        edges_x=tuple(float(v) for v in ex),
        edges_y=tuple(float(v) for v in ey),
    )


def _detect_with_hint(
    prof_x: FloatArray, prof_y: FloatArray, width: int, height: int, size_hint: tuple[int, int]
) -> GridEstimate:
    cols, rows = size_hint
    if cols == width and rows == height:
        return _clean_grid(width, height)
    px, py = _find_peaks(prof_x), _find_peaks(prof_y)
    fits = []
    for peaks, length, n in ((px, width, cols), (py, height, rows)):
        prior = length / n
        periods = _candidate_periods(length, max(1.0, prior * 0.9), prior * 1.1)
        score = _concentration(peaks, periods)
        # The prior breaks ties: among near-equal scores prefer the period closest to it.
        score = score - 0.05 * np.abs(np.log(periods / prior))
        p0 = float(periods[int(np.argmax(score))]) if score.size else prior
        fits.append(_refine(peaks, p0) if peaks.pos.size >= 3 else (prior, 0.0, 0.0))
    nx, ny = float(px.weight.sum()), float(py.weight.sum())
    conf = (fits[0][2] * nx + fits[1][2] * ny) / max(nx + ny, 1e-9)
    return _assemble(width, height, (fits[0], fits[1]), (px, py), float(conf), (cols, rows))
