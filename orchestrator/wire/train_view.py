"""The views of a training run on every wire: ZeroMQ events and replies, MCP tool results.

A training job is a `JobView` (kind `train`) plus what its run reports: `TrainProgressView`
rides on its `job_progress` events, `TrainingStatusView` answers `training_status`. Like
`job_view`, the functions here read any object with the service's attribute names, so the
wire imports nothing from the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from orchestrator.wire.job_view import JobView, job_view
from orchestrator.wire.model import WireModel

__all__ = [
    "MAX_CURVE_POINTS",
    "TrainProgressView",
    "TrainResultView",
    "TrainingStatusView",
    "train_progress_view",
    "training_status_view",
]

MAX_CURVE_POINTS = 2000  # a longer loss curve is thinned evenly (the last point is kept)


class TrainProgressView(WireModel):
    """One progress report of a training run (`training.backend.TrainProgress`)."""

    type: Literal["train_progress"] = "train_progress"
    step: int = Field(ge=0, description="Optimiser steps done.")
    total_steps: int = Field(ge=0)
    loss: float | None = Field(default=None, description="Smoothed training loss.")
    lr: float = 0.0
    it_per_s: float = 0.0
    eta_s: float | None = Field(default=None, description="Seconds left at the measured pace.")
    val_loss: float | None = Field(default=None, description="Set on validation steps.")
    sample: str | None = Field(default=None, description="A sample image written now.")
    message: str = ""


class TrainResultView(WireModel):
    """Where a succeeded run's LoRA was registered."""

    type: Literal["train_result"] = "train_result"
    lora_path: str
    card_path: str | None = None
    backend: str
    steps: int
    final_loss: float | None = None
    resumed_from: int = 0
    backup_path: str | None = None
    report_path: str | None = None


class TrainingStatusView(WireModel):
    """A training job with its run: request, latest report, loss curves, samples, result."""

    type: Literal["training_status"] = "training_status"
    job: JobView
    name: str
    dataset_dir: str
    base_checkpoint: str
    trigger: str = ""
    steps: int
    max_hours: float | None = None
    latest: TrainProgressView | None = None
    losses: list[tuple[int, float]] = Field(
        default_factory=list, description="(step, training loss), thinned to 2000 points."
    )
    val_losses: list[tuple[int, float]] = Field(default_factory=list)
    samples: list[str] = Field(default_factory=list)
    result: TrainResultView | None = None


_PROGRESS_FIELDS = ("step", "total_steps", "loss", "lr", "it_per_s", "eta_s", "val_loss", "message")


def train_progress_view(progress: Any) -> TrainProgressView:
    """The wire view of a `TrainProgress` (any object with its attributes)."""
    sample = getattr(progress, "sample", None)
    fields = {name: getattr(progress, name) for name in _PROGRESS_FIELDS}
    return TrainProgressView(**fields, sample=None if sample is None else str(sample))


def _thinned(points: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    if len(points) <= MAX_CURVE_POINTS:
        return list(points)
    stride = -(-len(points) // MAX_CURVE_POINTS)  # ceil
    kept = list(points[::stride])
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


def training_status_view(status: Any) -> TrainingStatusView:
    """The wire view of `orchestrator.service.train_jobs.TrainingStatus`."""
    params, history, result = status.params, status.history, status.result
    losses = [(p.step, p.loss) for p in history if p.loss is not None]
    val_losses = [(p.step, p.val_loss) for p in history if p.val_loss is not None]
    return TrainingStatusView(
        job=job_view(status.job),
        name=params.name,
        dataset_dir=str(params.dataset_dir),
        base_checkpoint=str(params.base_checkpoint),
        trigger=params.trigger,
        steps=params.spec.steps,
        max_hours=params.max_hours,
        latest=None if status.latest is None else train_progress_view(status.latest),
        losses=_thinned(losses),
        val_losses=_thinned(val_losses),
        samples=[str(s) for s in status.samples],
        result=None
        if result is None
        else TrainResultView.model_validate(result, from_attributes=True),
    )
