"""Pixel-grid detection: find the cell size and phase of pseudo pixel art.

SDXL paints "pixel art" as a 1024² picture whose cells are 8–64 px wide, blurred, noisy,
JPEG-compressed and rarely aligned to (0, 0). ``detect_grid`` recovers that lattice:

0. Lossless pixel art (few colours, exact runs) is read exactly by the GCD of its run
   lengths (``grid_lossless``); a GCD of 1 means the input already is a true-size sprite.
1. Edge profiles per axis, their sub-pixel peaks (prominence-weighted), and the peaks'
   circular concentration ``R(p)`` for every period at once (``grid_edges``). True cells
   and their sub-multiples score high, multiples do not; the largest period scoring within
   10 % of the best is the fundamental. Both axes vote, since cells are square.
2. A 2/2.67/4/8-px winner is JPEG's block grid (or a harmonic of it): the per-phase block
   background is removed from the profiles and the search runs again.
3. Least-squares refinement of period and phase per axis; cut-off border cells count when
   at least half inside and different from their neighbour; each line snaps to its own
   edge peak (small wobble).
4. The lattice is checked against the picture's own luma steps (``grid_verify``): a half
   or doubled cell, a JPEG harmonic, or a near period that fits a flat icon's frame but
   drifts through its middle gives way to the spectrum candidate that puts every step on a
   line, made as coarse as a passing multiple allows.
5. Small pictures whose lattice is weak or whose cells are not uniform inside are taken
   as already clean.

A requested size is a prior: it narrows the search to periods near ``image / size`` and
fixes the cell count, but the phase and exact period still come from the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .errors import GridDoesNotFitError, InvalidImageError, InvalidParameterError
from .grid_edges import (
    AutoFit,
    FloatArray,
    Peaks,
    auto_fit,
    candidate_periods,
    concentration,
    edge_profile,
    find_peaks,
    looks_like_block_grid,
    refine,
    snap_lines,
    suppress_block_grid,
)
from .grid_lossless import lossless_lattice
from .grid_multiple import coarser_multiple
from .grid_verify import StepMarks, off_lattice_share, step_marks, verified_period

__all__ = ["GridEstimate", "detect_grid", "detect_grid_frames", "grid_from_size"]

_MIN_PERIOD = 2.0
_MIN_CELLS = 6
_CLEAN_MAX_SIDE = 512
_CLEAN_CONFIDENCE = 0.5
_CLEAN_UNIFORMITY = 0.6
_UNIFORM_SPREAD = 60
_PARTIAL_ALWAYS = 0.8
_DISTINCT_L1 = 45
_DISTINCT_SHARE = 0.03
_BLOCK_RETRY_CONFIDENCE = 0.35
#: A candidate whose plain lattice leaves this share of steps off is not refined.
_QUICK_REJECT = 0.2


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
    prof_x = np.sum([edge_profile(im, 1) for im in images], axis=0)
    prof_y = np.sum([edge_profile(im, 0) for im in images], axis=0)
    if size_hint is not None:
        if len(size_hint) != 2:
            raise InvalidParameterError(f"size_hint: expected (cols, rows), got {size_hint!r}")
        _check_hint(size_hint, width, height)
        return _detect_with_hint(prof_x, prof_y, width, height, size_hint)
    return _detect_auto(prof_x, prof_y, width, height, images)


def _crisp_grid(
    frames: Sequence[NDArray[np.uint8]], width: int, height: int
) -> GridEstimate | None:
    """Grid of a lossless picture from its run lengths (1 px blocks = already clean)."""
    found = lossless_lattice(frames)
    if found is None:
        return None
    kx, ky, phase_x, phase_y = found
    if kx == 1:
        return _clean_grid(width, height)
    fits = ((float(kx), float(phase_x), 1.0), (float(ky), float(phase_y), 1.0))
    empty = (Peaks(np.zeros(0), np.zeros(0)), Peaks(np.zeros(0), np.zeros(0)))
    return _assemble(width, height, fits, empty, 1.0, None, frames)


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
    fit = auto_fit(prof_x, prof_y, max(width, height), lo, hi)
    if looks_like_block_grid(fit.fx[0]):
        # The winner sits on JPEG's block lattice: look again without the block edges.
        clean_x = suppress_block_grid(suppress_block_grid(prof_x, 8), 2)
        clean_y = suppress_block_grid(suppress_block_grid(prof_y, 8), 2)
        again = auto_fit(clean_x, clean_y, max(width, height), lo, hi)
        if again.confidence >= _BLOCK_RETRY_CONFIDENCE and not looks_like_block_grid(again.fx[0]):
            fit = again
    grid = _assemble(
        width, height, (fit.fx, fit.fy), (fit.px, fit.py), fit.confidence, None, frames
    )
    grid = _coarsened(grid, (fit.px, fit.py), width, height, frames)
    grid = _verified(grid, fit, width, height, frames)
    if max(width, height) <= _CLEAN_MAX_SIDE and (
        fit.confidence < _CLEAN_CONFIDENCE or _uniformity(frames, grid) < _CLEAN_UNIFORMITY
    ):
        return _clean_grid(width, height)
    return grid


def _coarsened(
    grid: GridEstimate,
    peaks: tuple[Peaks, Peaks],
    width: int,
    height: int,
    frames: Sequence[NDArray[np.uint8]],
) -> GridEstimate:
    """The lattice ``m`` times coarser when the fitted one split every cell into m × m."""
    xs, ys = grid.lines_x(), grid.lines_y()
    found = coarser_multiple(frames[0], xs, ys)
    if found is None:
        return grid
    m, first_x, first_y = found
    fits = (
        (grid.cell_w * m, float(xs[first_x]), grid.confidence),
        (grid.cell_h * m, float(ys[first_y]), grid.confidence),
    )
    return _assemble(width, height, fits, peaks, grid.confidence, None, frames)


def _marks(frames: Sequence[NDArray[np.uint8]], axis: int) -> StepMarks:
    return StepMarks(np.concatenate([step_marks(f, axis).pos for f in frames]))


def _off_share(grid: GridEstimate, marks: tuple[StepMarks, StepMarks]) -> float:
    """The larger of the two axes' off-lattice step shares. A step near either the snapped
    line or the regular lattice's counts as on it (a line can snap to the wrong peak)."""
    plain = GridEstimate(
        grid.cell_w, grid.cell_h, grid.offset_x, grid.offset_y, grid.cols, grid.rows, 1.0
    )
    xs = np.sort(np.concatenate([grid.lines_x(), plain.lines_x()]))
    ys = np.sort(np.concatenate([grid.lines_y(), plain.lines_y()]))
    return max(
        off_lattice_share(marks[0], xs, grid.cell_w),
        off_lattice_share(marks[1], ys, grid.cell_h),
    )


def _quick_off_share(
    period: float, fit: AutoFit, size: tuple[int, int], marks: tuple[StepMarks, StepMarks]
) -> float:
    """``_off_share`` of a plain lattice at ``period`` phased on the peaks' circular mean:
    no refinement, so a candidate far off the picture's steps is dropped cheaply."""
    shares = []
    for peaks, length, axis_marks in zip((fit.px, fit.py), size, marks, strict=True):
        if peaks.pos.size == 0:
            return 1.0
        turn = np.sum(peaks.weight * np.exp(2j * np.pi * peaks.pos / period))
        phase = float(np.angle(turn)) / (2.0 * np.pi) * period % period
        lines = phase - period + np.arange(int(length / period) + 3, dtype=np.float64) * period
        shares.append(off_lattice_share(axis_marks, lines, period))
    return max(shares)


def _verified(
    grid: GridEstimate,
    fit: AutoFit,
    width: int,
    height: int,
    frames: Sequence[NDArray[np.uint8]],
) -> GridEstimate:
    """The lattice the picture's colour steps support (``grid_verify``): a fitted half or
    doubled cell, or a near period that drifts, gives way to the candidate that puts every
    step on a line."""
    marks = (_marks(frames, 1), _marks(frames, 0))
    built: dict[float, GridEstimate] = {}

    def judge(period: float) -> tuple[float, float]:
        quick = _quick_off_share(period, fit, (width, height), marks)
        if quick > _QUICK_REJECT:
            return period, quick
        fx, fy = refine(fit.px, period), refine(fit.py, period)
        nx, ny = float(fit.px.weight.sum()), float(fit.py.weight.sum())
        conf = float(np.clip((fx[2] * nx + fy[2] * ny) / max(nx + ny, 1e-9), 0.0, 1.0))
        built[period] = _assemble(width, height, (fx, fy), (fit.px, fit.py), conf, None, frames)
        return built[period].cell_w, _off_share(built[period], marks)

    fit_period = 0.5 * (grid.cell_w + grid.cell_h)
    summary = (fit_period, _off_share(grid, marks), looks_like_block_grid(fit_period))
    chosen = verified_period(summary, fit.periods, fit.joint, judge)
    return grid if chosen is None else built[chosen]


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
    peaks: tuple[Peaks, Peaks],
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
    ex = snap_lines(lx, peaks[0], pw)
    ey = snap_lines(ly, peaks[1], ph)
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
    px, py = find_peaks(prof_x), find_peaks(prof_y)
    fits = []
    for peaks, length, n in ((px, width, cols), (py, height, rows)):
        prior = length / n
        periods = candidate_periods(length, max(1.0, prior * 0.9), prior * 1.1)
        score = concentration(peaks, periods)
        # The prior breaks ties: among near-equal scores prefer the period closest to it.
        score = score - 0.05 * np.abs(np.log(periods / prior))
        p0 = float(periods[int(np.argmax(score))]) if score.size else prior
        fits.append(refine(peaks, p0) if peaks.pos.size >= 3 else (prior, 0.0, 0.0))
    nx, ny = float(px.weight.sum()), float(py.weight.sum())
    conf = (fits[0][2] * nx + fits[1][2] * ny) / max(nx + ny, 1e-9)
    return _assemble(width, height, (fits[0], fits[1]), (px, py), float(conf), (cols, rows))
