"""The report's two plots as PNG bytes (matplotlib, Agg backend: no display needed).

- `loss_plot`: the validation-loss curve, the last `window` evaluations' fitted line over
  it, the verdict as the title;
- `measures_plot`: one small bar chart per measure, base beside LoRA.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from training.evaluate.assess import MeasureSummary
from training.evaluate.convergence import Convergence

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["loss_plot", "measures_plot"]

_BASE_COLOR = "#8a8f98"
_LORA_COLOR = "#d9480f"


def _figure(width: float, height: float) -> Figure:
    # Figure itself (not pyplot): no global state, no GUI backend, safe in any thread.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def loss_plot(val_losses: Sequence[tuple[int, float]], convergence: Convergence) -> bytes:
    """The validation-loss curve with the verdict's fitted window, as PNG bytes."""
    figure = _figure(7.0, 3.6)
    axes = figure.add_subplot()
    steps = np.array([s for s, _ in val_losses], dtype=np.float64)
    losses = np.array([v for _, v in val_losses], dtype=np.float64)
    axes.plot(steps, losses, marker="o", color=_LORA_COLOR, label="validation loss")
    if convergence.relative_change is not None:
        tail_s, tail_v = steps[-convergence.window :], losses[-convergence.window :]
        slope, intercept = np.polyfit(tail_s, tail_v, 1)
        fitted = slope * tail_s + intercept
        label = f"fit over the last {convergence.window}"
        axes.plot(tail_s, fitted, linestyle="--", color="black", label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("validation loss")
    axes.set_title(str(convergence.verdict))
    axes.grid(alpha=0.3)
    axes.legend()
    return _png(figure)


def measures_plot(summary: Sequence[MeasureSummary]) -> bytes:
    """One bar chart per measure (base, LoRA), three to a row, as PNG bytes."""
    columns = min(3, max(len(summary), 1))
    rows = max(1, -(-len(summary) // columns))
    figure = _figure(2.6 * columns, 2.6 * rows)
    for i, item in enumerate(summary):
        axes = figure.add_subplot(rows, columns, i + 1)
        values = [item.base, item.lora]
        finite = [v if np.isfinite(v) else 0.0 for v in values]
        axes.bar(["base", "LoRA"], finite, color=[_BASE_COLOR, _LORA_COLOR])
        better = "" if item.measure.better == "neither" else f"\n({item.measure.better} is better)"
        axes.set_title(f"{item.measure.title}{better}", fontsize=8)
        axes.tick_params(labelsize=8)
    return _png(figure)
