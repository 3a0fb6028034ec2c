"""The convergence verdict of a run's validation-loss curve.

A run has converged when the validation loss stopped moving: a least-squares line through
the last `CONVERGENCE_WINDOW` evaluations changes the loss by at most
`CONVERGENCE_TOLERANCE` of its mean level across those evaluations. A steeper fall is
"still falling" (more steps would help), a steeper rise is "diverging" (lower the learning
rate or stop earlier), and fewer evaluations than the window cannot be judged. A flat but
noisy tail counts as converged: noise moves single points, not the fitted line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np

from training.errors import EvaluationError

__all__ = [
    "CONVERGENCE_TOLERANCE",
    "CONVERGENCE_WINDOW",
    "Convergence",
    "Verdict",
    "convergence_verdict",
]

CONVERGENCE_WINDOW: Final[int] = 5
"""How many of the last validation evaluations the verdict looks at."""

CONVERGENCE_TOLERANCE: Final[float] = 0.02
"""Largest relative change of the fitted line across the window still called flat (2 %)."""


class Verdict(StrEnum):
    """What the validation-loss curve says about the run."""

    CONVERGED = "converged"
    STILL_FALLING = "not converged: still falling"
    DIVERGING = "not converged: diverging"
    TOO_FEW = "not converged: too few evaluations to judge"

    @property
    def converged(self) -> bool:
        """True only for `CONVERGED`."""
        return self is Verdict.CONVERGED


@dataclass(frozen=True)
class Convergence:
    """The verdict and the figures behind it.

    Attributes:
        verdict: Converged, still falling, diverging, or too few evaluations.
        evaluations: How many validation losses the run recorded.
        window: How many of the last ones were judged (`CONVERGENCE_WINDOW`).
        tolerance: The relative change still called flat (`CONVERGENCE_TOLERANCE`).
        relative_change: The fitted line's change across the window over its mean level
            (negative: falling); None with too few evaluations.
        slope_per_1k_steps: The fitted slope, loss per 1000 steps; None with too few.
    """

    verdict: Verdict
    evaluations: int
    window: int = CONVERGENCE_WINDOW
    tolerance: float = CONVERGENCE_TOLERANCE
    relative_change: float | None = None
    slope_per_1k_steps: float | None = None

    def sentence(self) -> str:
        """One line a person reads: the verdict and why."""
        if self.relative_change is None:
            return (
                f"{self.verdict}: {self.evaluations} validation evaluation(s), "
                f"the verdict needs {self.window}"
            )
        change = f"{self.relative_change:+.1%}"
        return (
            f"{self.verdict}: over the last {self.window} evaluations the fitted validation "
            f"loss changes by {change} (flat within ±{self.tolerance:.0%})"
        )


def _checked(val_losses: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    points = [(int(step), float(loss)) for step, loss in val_losses]
    for i, (step, loss) in enumerate(points):
        if not np.isfinite(loss):
            raise EvaluationError(f"val_losses[{i}]", loss, "a validation loss must be finite")
        if i and step <= points[i - 1][0]:
            raise EvaluationError(
                f"val_losses[{i}]", step, "steps must increase (pairs are in step order)"
            )
    return points


def convergence_verdict(
    val_losses: Sequence[tuple[int, float]],
    window: int = CONVERGENCE_WINDOW,
    tolerance: float = CONVERGENCE_TOLERANCE,
) -> Convergence:
    """Judge a validation-loss curve (`TrainOutcome.val_losses`: (step, loss) pairs).

    Args:
        val_losses: (step, validation loss) pairs in increasing step order.
        window: How many of the last evaluations to fit (at least 2).
        tolerance: Largest relative change across the window still called flat.

    Returns:
        The verdict with its figures.

    Raises:
        EvaluationError: A loss that is not finite, steps out of order, or a bad window or
            tolerance.
    """
    if window < 2:
        raise EvaluationError("window", window, "the fit needs at least 2 evaluations")
    if not tolerance > 0:
        raise EvaluationError("tolerance", tolerance, "must be above 0")
    points = _checked(val_losses)
    if len(points) < window:
        return Convergence(Verdict.TOO_FEW, len(points), window, tolerance)
    steps = np.array([s for s, _ in points[-window:]], dtype=np.float64)
    losses = np.array([v for _, v in points[-window:]], dtype=np.float64)
    slope = float(np.polyfit(steps, losses, 1)[0])
    level = max(abs(float(losses.mean())), 1e-12)
    change = slope * float(steps[-1] - steps[0]) / level
    if abs(change) <= tolerance:
        verdict = Verdict.CONVERGED
    else:
        verdict = Verdict.STILL_FALLING if change < 0 else Verdict.DIVERGING
    return Convergence(verdict, len(points), window, tolerance, change, slope * 1000.0)
