"""Edge peaks of pseudo pixel art and the lattice they vote for (used by ``grid``).

Edge profiles (absolute colour differences between neighbouring columns or rows, summed
along the other axis), their sub-pixel peaks, the peaks' circular concentration for every
candidate period (an FFT over a 1/8-px histogram), the fundamental among harmonics, a
least-squares refinement of period and phase, and per-line snapping that follows wobble.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

__all__ = [
    "AutoFit",
    "Peaks",
    "auto_fit",
    "candidate_periods",
    "concentration",
    "edge_profile",
    "find_peaks",
    "looks_like_block_grid",
    "pick_fundamental",
    "refine",
    "snap_lines",
    "spectrum",
    "suppress_block_grid",
]

_HARMONIC_KEEP = 0.9
_MAX_PEAKS = 192
_BINS_PER_PX = 8
_BLOCK_PERIOD_TOL = 0.1

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Peaks:
    pos: FloatArray
    weight: FloatArray


def edge_profile(rgb: NDArray[np.uint8], axis: int) -> FloatArray:
    """Noise-floor-subtracted edge energy between neighbouring columns (axis=1) or rows.

    Works on every 4th row (column) in uint8 with contiguous reductions, which keeps a
    1024² picture well under a millisecond per axis, RGB or RGBA.
    """
    step = max(1, rgb.shape[1 - axis] // 256)
    ch = rgb.shape[2]
    if axis == 1:
        # Whole rows stay contiguous: alpha rides along and is dropped after the sum.
        sub = rgb[::step]
        a, b = sub[:, 1:], sub[:, :-1]
    else:
        # Every step-th column's RGB bytes gathered into contiguous rows by one flat take
        # (a strided [:, ::step, :3] view makes numpy loop over 3-byte inner runs).
        cols = (np.arange(0, rgb.shape[1], step) * ch)[:, None] + np.arange(3)
        sub = np.take(rgb.reshape(rgb.shape[0], -1), cols.ravel(), axis=1)
        a, b = sub[1:], sub[:-1]
    d = np.maximum(a, b)
    d -= np.minimum(a, b)
    if d.size == 0:
        return np.zeros(0)
    if axis == 1:
        per = d.reshape(d.shape[0], -1).sum(axis=0, dtype=np.uint32).reshape(-1, ch)
        prof = per[:, :3].sum(axis=1).astype(np.float64)
    else:
        prof = d.sum(axis=1, dtype=np.uint32).astype(np.float64)
    return np.asarray(np.clip(prof - float(np.median(prof)), 0.0, None), np.float64)


def suppress_block_grid(prof: FloatArray, modulus: int) -> FloatArray:
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


def looks_like_block_grid(period: float) -> bool:
    """Whether a period is JPEG's 8-px block size or a harmonic of it (8/2, 8/3, 8/4:
    block edges and chroma ripple). Any phase counts: a cropped JPEG keeps its blocks but
    not their alignment to (0, 0)."""
    return any(abs(period - m) <= _BLOCK_PERIOD_TOL for m in (2.0, 8.0 / 3.0, 4.0, 8.0))


def find_peaks(prof: FloatArray) -> Peaks:
    """Local maxima of a profile; positions are boundary coordinates (between px i and i+1)."""
    if prof.size < 3 or float(prof.max()) <= 0.0:
        return Peaks(np.zeros(0), np.zeros(0))
    left, mid, right = prof[:-2], prof[1:-1], prof[2:]
    # Prominence over the lowest value within 3 px on either side: blur keeps true edges
    # prominent, while JPEG chroma ripple and noise make shallow bumps.
    padded = np.pad(prof, 3, mode="edge")
    floor = sliding_window_view(padded, 7).min(axis=1)[1:-1]
    prom = mid - floor
    thr = 0.05 * float(prom.max())
    idx = np.nonzero((mid >= left) & (mid > right) & (prom > thr))[0] + 1
    if idx.size > _MAX_PEAKS:
        idx = np.sort(idx[np.argsort(prom[idx - 1])[-_MAX_PEAKS:]])
    lo, c, hi = prof[idx - 1], prof[idx], prof[idx + 1]
    den = lo - 2.0 * c + hi
    delta = np.where(den < 0, 0.5 * (lo - hi) / np.where(den < 0, den, -1.0), 0.0)
    return Peaks(idx + 1.0 + np.clip(delta, -0.5, 0.5), prom[idx - 1])


def concentration(peaks: Peaks, periods: FloatArray) -> FloatArray:
    """Weighted circular concentration of peak positions for each candidate period."""
    if peaks.pos.size == 0:
        return np.zeros_like(periods)
    theta = (2.0 * np.pi / periods)[:, None] * peaks.pos[None, :]
    w = peaks.weight
    re = np.cos(theta) @ w
    im = np.sin(theta) @ w
    return np.asarray(np.hypot(re, im) / w.sum(), dtype=np.float64)


def candidate_periods(length: int, lo: float, hi: float) -> FloatArray:
    """Periods uniform in frequency, fine enough to stay phase-coherent across ``length``."""
    f_hi, f_lo = 1.0 / lo, 1.0 / hi
    n = int(np.ceil((f_hi - f_lo) * length * 4.0)) + 2
    return np.asarray(1.0 / np.linspace(f_lo, f_hi, n), dtype=np.float64)


def spectrum(peaks: Peaks, length: int, lo: float, hi: float) -> tuple[FloatArray, FloatArray]:
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


def pick_fundamental(periods: FloatArray, score: FloatArray) -> float:
    """The largest period scoring near the best: sub-multiples score as high, multiples less."""
    padded = np.concatenate([[-1.0], score, [-1.0]])
    # Local maxima only, so a shoulder of the best peak is not taken for a longer period.
    local = (score >= padded[:-2]) & (score >= padded[2:])
    ok = np.nonzero(local & (score >= _HARMONIC_KEEP * float(score.max())))[0]
    if ok.size == 0:
        return float(periods[int(np.argmax(score))])
    return float(periods[ok].max())


def refine(peaks: Peaks, period: float) -> tuple[float, float, float]:
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
    score = float(concentration(peaks, np.array([period]))[0])
    return period, phase % period, score


def snap_lines(lines: FloatArray, peaks: Peaks, period: float) -> FloatArray:
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


@dataclass(frozen=True)
class AutoFit:
    """Both axes' fits ``(period, phase, R)``, their peaks, the joint confidence, and the
    joint spectrum (``periods``, ``joint``) the period was picked from, for a later check
    of other candidates against the picture."""

    fx: tuple[float, float, float]
    fy: tuple[float, float, float]
    px: Peaks
    py: Peaks
    confidence: float
    periods: FloatArray
    joint: FloatArray


def auto_fit(prof_x: FloatArray, prof_y: FloatArray, length: int, lo: float, hi: float) -> AutoFit:
    """Fit both axes; cells are square, so both axes vote on one period first."""
    px, py = find_peaks(prof_x), find_peaks(prof_y)
    periods, sx = spectrum(px, length, lo, hi)
    _, sy = spectrum(py, length, lo, hi)
    nx, ny = float(px.weight.sum()), float(py.weight.sum())
    joint = (sx * nx + sy * ny) / max(nx + ny, 1e-9)
    p0 = pick_fundamental(periods, joint)
    fx, fy = refine(px, p0), refine(py, p0)
    confidence = float(np.clip((fx[2] * nx + fy[2] * ny) / max(nx + ny, 1e-9), 0.0, 1.0))
    return AutoFit(fx, fy, px, py, confidence, periods, joint)
