"""Check a candidate lattice against the picture's own colour steps (used by ``grid``).

The edge spectrum cannot tell a cell from its double, its half or a near period that fits
a few long edges (a flat UI icon: a frame along the border and little inside). The picture
can: on the true lattice every strong colour step lies on a cell boundary. Steps are
found per band of rows (columns), kept only when the neighbouring band has one at the same
place (noise and JPEG specks do not persist), and counted off-lattice when farther than a
small tolerance from every line. Halving the true cell keeps every step on a line (each
2 × 2 block is uniform), so among lattices that leave no step off-lattice the coarsest is
the cell; doubling it, or a near period that drifts through the picture, puts steps
between lines and is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "INFORMATIVE_PERIOD",
    "Judge",
    "StepMarks",
    "off_lattice_share",
    "step_marks",
    "verified_period",
]

#: Luma difference across a 3-px span that counts as a step (noise and JPEG stay below).
_STEP: Final[float] = 20.0
#: Rows between probe lines for steps along x; columns between those for steps along y
#: (sparser: gathering columns costs more, and the x axis already carries most evidence).
_BAND: Final[int] = 4
_BAND_Y: Final[int] = 8
#: Rec. 601 luma weights.
_LUMA: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class StepMarks:
    """Persistent colour steps along one axis, as boundary coordinates.

    Attributes:
        pos: Boundary coordinate of each step (between pixel ``pos - 1`` and ``pos``).
        count: Number of steps (``pos.size``).
    """

    pos: NDArray[np.float64]

    @property
    def count(self) -> int:
        """Number of persistent steps."""
        return int(self.pos.size)


def _luma_lines(image: NDArray[np.uint8], axis: int) -> NDArray[np.float32]:
    """Luma of every ``_BAND``-th row (``axis=1``: ``[B, W]``) or ``_BAND_Y``-th column
    (``axis=0``: ``[H, B]``).

    Luma, because JPEG keeps it at full resolution: its half-resolution chroma rings up to
    the next 16-px chroma block, a step 4–8 px beside a colour edge.
    """
    if axis == 1:
        lines = image[::_BAND, :, :3]
    else:
        # The columns' RGB bytes gathered by one flat take (a strided view is slow to copy).
        ch = image.shape[2]
        picks = (np.arange(0, image.shape[1], _BAND_Y) * ch)[:, None] + np.arange(3)
        flat = np.take(image.reshape(image.shape[0], -1), picks.ravel(), axis=1)
        lines = flat.reshape(image.shape[0], -1, 3)
    luma: NDArray[np.float32] = lines.astype(np.float32) @ _LUMA
    return luma


def step_marks(image: NDArray[np.uint8], axis: int) -> StepMarks:
    """Strong steps along ``axis`` (1: x, seen in rows; 0: y, seen in columns).

    A step is a local maximum (within 2 px) of the luma difference across 3 px, at least
    ``_STEP`` strong, that the next or previous probe line also has within 1 px.
    """
    luma = _luma_lines(image, axis)
    if luma.shape[1 - axis] < 2 or luma.shape[axis] < 8:
        return StepMarks(np.zeros(0))
    # Along the step axis, d[i] compares pixels i and i + 3: the boundary at i + 2.
    d = np.abs(luma[:, 3:] - luma[:, :-3]) if axis == 1 else np.abs(luma[3:] - luma[:-3])
    first, second = np.divmod(np.flatnonzero(d >= _STEP), d.shape[1])  # 1-D: fast
    band, pos = (first, second) if axis == 1 else (second, first)
    inner = (pos >= 2) & (pos < d.shape[axis] - 2)
    band, pos = band[inner], pos[inner]

    def at(shift: int) -> NDArray[np.float32]:
        out: NDArray[np.float32] = d[band, pos + shift] if axis == 1 else d[pos + shift, band]
        return out

    v = at(0)
    # A local maximum; a sharp step makes a 3-px plateau and its middle is the boundary.
    peak = (v >= at(-1)) & (v >= at(1)) & (v > at(-2)) & (v > at(2))
    band, pos = band[peak], pos[peak]
    mark = np.zeros((d.shape[1 - axis] + 2, d.shape[axis] + 2), dtype=bool)
    mark[band + 1, pos + 1] = True
    beside = np.zeros(band.size, dtype=bool)
    for dy in (0, 2):
        for dx in (0, 1, 2):
            beside |= mark[band + dy, pos + dx]
    return StepMarks(pos[beside].astype(np.float64) + 2.0)


def off_lattice_share(marks: StepMarks, lines: NDArray[np.float64], period: float) -> float:
    """Share of the steps farther than ``clip(0.25·period, 2, 3.5)`` px from every line.

    Wobble, blur and the fit's own error move a true boundary by a pixel or two, whatever
    the cell size; a step beyond the lattice's first or last line by more than that is off
    too (the lattice left out a cell). Returns 0.0 when there are no steps to judge by.
    """
    if marks.count == 0 or lines.size < 2:
        return 0.0
    pos = marks.pos
    j = np.clip(np.searchsorted(lines, pos), 1, lines.size - 1)
    dist = np.minimum(np.abs(pos - lines[j - 1]), np.abs(lines[j] - pos))
    tol = float(np.clip(0.25 * period, 2.0, 3.5))
    return float((dist > tol).mean())


#: Below this period a 2 px tolerance covers a quarter cell or more: every step "fits".
INFORMATIVE_PERIOD: Final[float] = 7.5
#: A candidate lattice passes with at most this share of its steps off-lattice.
_PASS: Final[float] = 0.02
#: The fitted lattice is kept (only made coarser) unless more than this share is off.
_FIT_FAILS: Final[float] = 0.04
#: Candidates are local maxima of the period spectrum scoring at least this share of its best.
_MIN_SCORE: Final[float] = 0.5
#: A candidate within this relative distance of ``m × period`` counts as that multiple.
_MULTIPLE_TOL: Final[float] = 0.05
_MAX_MULTIPLE: Final[int] = 8
#: A multiple may leave this much more of the steps off than the lattice it multiplies.
_SLACK: Final[float] = 0.03
#: Off-lattice shares this close count as equal.
_TIE: Final[float] = 0.003
#: A passing fit is compared with candidates within this ratio of its period.
_NEIGHBOUR: Final[float] = 1.12

#: Candidate period -> (refined period, off-lattice share of its lattice).
Judge = Callable[[float], tuple[float, float]]


def _candidates(periods: NDArray[np.float64], scores: NDArray[np.float64]) -> list[int]:
    """Indices of the spectrum's local maxima scoring at least ``_MIN_SCORE`` of its best."""
    if scores.size == 0 or float(scores.max()) <= 0.0:
        return []
    padded = np.concatenate([[-1.0], scores, [-1.0]])
    local = (scores >= padded[:-2]) & (scores >= padded[2:])
    keep = local & (scores >= _MIN_SCORE * float(scores.max())) & (periods >= INFORMATIVE_PERIOD)
    return [int(i) for i in np.nonzero(keep)[0]]


class _Verifier:
    """Candidates of one picture, each judged at most once."""

    def __init__(self, periods: NDArray[np.float64], scores: NDArray[np.float64], judge: Judge):
        self.periods, self._judge = periods, judge
        self.scores = scores / max(float(scores.max()), 1e-12) if scores.size else scores
        self.idx = _candidates(periods, scores)
        self._memo: dict[int, tuple[float, float]] = {}

    def off(self, i: int) -> float:
        """Off-lattice share of candidate ``i``'s lattice (1.0 when too fine to judge)."""
        if i not in self._memo:
            self._memo[i] = self._judge(float(self.periods[i]))
        refined, off = self._memo[i]
        return off if refined >= INFORMATIVE_PERIOD else 1.0

    def best(self, idx: list[int], limit: float = _PASS) -> int | None:
        """The candidate with the fewest steps off-lattice, at most ``limit``; near-ties go
        to the higher spectrum score (a drifting near period misses only a few steps)."""
        passing = [i for i in idx if self.off(i) <= limit]
        if not passing:
            return None
        least = min(self.off(i) for i in passing)
        tied = [i for i in passing if self.off(i) <= least + _TIE]
        return max(tied, key=lambda i: float(self.scores[i]))

    def beside(self, period: float, off: float) -> int | None:
        """A near period (within ``_NEIGHBOUR``) to take over a passing fit: one that leaves
        clearly fewer steps off, or as few with a higher spectrum score (the fit was then a
        side lobe: a period one cell off that fits the long edges at both ends)."""
        score = float(self.scores[int(np.argmin(np.abs(self.periods - period)))])
        near = [
            i
            for i in self.near(period, 1.0 / _NEIGHBOUR, _NEIGHBOUR)
            if abs(self.periods[i] / period - 1.0) > 0.01
        ]
        if off <= _TIE and not any(self.scores[i] > score for i in near):
            return None
        found = self.best(near)
        if found is None:
            return None
        if self.off(found) < off - _TIE:
            return found
        return found if self.off(found) <= off + _TIE and self.scores[found] > score else None

    def near(self, period: float, lo: float, hi: float) -> list[int]:
        return [i for i in self.idx if lo <= self.periods[i] / period <= hi]

    def coarsest(self, base: float, base_off: float) -> float:
        """``base`` made as coarse as passing multiples allow (m × base, m >= 2, repeated).

        A multiple passes with up to ``_SLACK`` more of its steps off than ``base`` (a
        textured JPEG tile has a few specks between lines whatever the lattice), within
        the share a fit may keep.
        """
        while True:
            limit = max(_PASS, min(base_off + _SLACK, _FIT_FAILS))
            found = None
            for m in range(2, _MAX_MULTIPLE + 1):
                window = self.near(m * base, 1.0 - _MULTIPLE_TOL, 1.0 + _MULTIPLE_TOL)
                hit = self.best(window, limit)
                found = hit if hit is not None else found
            if found is None:
                return base
            base, base_off = float(self.periods[found]), self.off(found)


def verified_period(
    fit: tuple[float, float, bool],
    periods: NDArray[np.float64],
    scores: NDArray[np.float64],
    judge: Judge,
) -> float | None:
    """The period the picture's steps support better than the fitted one, or None to keep it.

    A fit that leaves steps off-lattice (a doubled cell, a near period that drifts) or sits
    on JPEG's block lattice gives way to the candidate that leaves the fewest. A fit that
    passes yields only to a neighbour (within 12 %) that leaves clearly fewer. Either is
    then made as coarse as a passing multiple (a candidate near ``m × period``) allows:
    halving the true cell also leaves every step on a line.

    Args:
        fit: The fitted lattice's ``(period, off-lattice share, on JPEG's block lattice)``.
        periods: Candidate periods of the spectrum the fit came from.
        scores: Their spectrum scores.
        judge: Refines a candidate period and returns ``(refined period, off share)``.

    Returns:
        A candidate period (from ``periods``) to fit instead, or None.
    """
    fit_period, fit_off, blocky = fit
    v = _Verifier(periods, scores, judge)
    if blocky or (fit_period >= INFORMATIVE_PERIOD and fit_off > _FIT_FAILS):
        pool = v.idx if blocky else v.near(fit_period, 0.0, 0.98)
        start = v.best(pool)
        if start is None:
            return None
        base, base_off = float(periods[start]), v.off(start)
    else:
        base, base_off = fit_period, fit_off if fit_period >= INFORMATIVE_PERIOD else 0.0
        beside = v.beside(fit_period, fit_off) if fit_period >= INFORMATIVE_PERIOD else None
        if beside is not None:
            base, base_off = float(periods[beside]), v.off(beside)
    chosen = v.coarsest(base, base_off)
    return None if chosen == fit_period else chosen
