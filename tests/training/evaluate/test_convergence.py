"""The convergence verdict on constructed validation-loss curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.errors import EvaluationError
from training.evaluate.convergence import (
    CONVERGENCE_TOLERANCE,
    CONVERGENCE_WINDOW,
    Verdict,
    convergence_verdict,
)


def _curve(values: list[float], every: int = 100) -> list[tuple[int, float]]:
    return [((i + 1) * every, v) for i, v in enumerate(values)]


def test_a_curve_that_levels_off_has_converged() -> None:
    losses = [0.5 * math.exp(-i / 2) + 0.1 for i in range(20)]  # flat within 1e-4 at the end
    result = convergence_verdict(_curve(losses))
    assert result.verdict is Verdict.CONVERGED and result.verdict.converged
    assert result.relative_change is not None and abs(result.relative_change) < 0.01


def test_a_curve_still_falling_is_not_converged() -> None:
    losses = [1.0 - 0.04 * i for i in range(10)]
    result = convergence_verdict(_curve(losses))
    assert result.verdict is Verdict.STILL_FALLING and not result.verdict.converged
    assert result.relative_change is not None and result.relative_change < -CONVERGENCE_TOLERANCE
    assert result.sentence().startswith("not converged: still falling")


def test_a_rising_curve_is_diverging() -> None:
    losses = [0.3, 0.25, 0.2, 0.22, 0.26, 0.31, 0.37, 0.44]
    result = convergence_verdict(_curve(losses))
    assert result.verdict is Verdict.DIVERGING
    assert result.slope_per_1k_steps is not None and result.slope_per_1k_steps > 0


def test_a_flat_noisy_tail_counts_as_converged() -> None:
    # Noise of 1 % of the level around a flat line: single points move, the fitted line
    # over the window does not (much), so the verdict is converged.
    noise = np.random.default_rng(7).normal(0.0, 0.002, 12)
    result = convergence_verdict(_curve([0.2 + n for n in noise]))
    assert result.verdict is Verdict.CONVERGED
    assert result.relative_change is not None and result.relative_change != 0.0
    assert max(abs(noise)) / 0.2 > 0.01  # the points themselves are noisier than that


def test_the_window_is_exactly_the_last_k_evaluations() -> None:
    # A steep fall followed by exactly CONVERGENCE_WINDOW flat points: converged; one
    # flat point fewer and the fall enters the window.
    flat = [0.1] * CONVERGENCE_WINDOW
    assert convergence_verdict(_curve([1.0, 0.6, *flat])).verdict is Verdict.CONVERGED
    falling = _curve([1.0, 0.6, *flat[1:]])
    assert convergence_verdict(falling).verdict is Verdict.STILL_FALLING


def test_too_few_evaluations_cannot_be_judged() -> None:
    result = convergence_verdict(_curve([0.3] * (CONVERGENCE_WINDOW - 1)))
    assert result.verdict is Verdict.TOO_FEW and result.relative_change is None
    assert f"needs {CONVERGENCE_WINDOW}" in result.sentence()
    assert convergence_verdict([]).evaluations == 0


@pytest.mark.parametrize(
    ("curve", "field"),
    [
        ([(100, 0.2), (100, 0.1)], "val_losses[1]"),
        ([(100, 0.2), (200, float("nan"))], "val_losses[1]"),
    ],
)
def test_bad_curves_are_refused_by_index(curve: list[tuple[int, float]], field: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        convergence_verdict(curve)
    assert caught.value.field == field


def test_a_window_below_two_is_refused() -> None:
    with pytest.raises(EvaluationError, match="window=1"):
        convergence_verdict(_curve([0.1] * 5), window=1)
