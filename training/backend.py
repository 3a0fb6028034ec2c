"""The one contract every trainer backend meets (kohya sd-scripts, the embedded trainer).

The service hands a backend a `TrainRequest` and receives `TrainProgress` callbacks while it
runs and a `TrainOutcome` at the end. The LoRA file the outcome names lies in the request's
work folder; registering it under `models/loras/` (card, trigger, collision rules) is the
registry's job, not the backend's, so a crashed run never leaves half a LoRA there.

Resuming: a backend saves checkpoints in `work_dir` every `spec.save_every_n_steps`; a
request with `resume=True` continues from the newest complete checkpoint there (after a
kill -9 of the daemon, say), or starts afresh when none exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from training.spec import TrainingSpec

__all__ = [
    "ProgressCallback",
    "StopRequested",
    "TrainOutcome",
    "TrainProgress",
    "TrainRequest",
    "TrainerBackend",
]


@dataclass(frozen=True)
class TrainRequest:
    """One training run.

    Attributes:
        spec: Every training knob (`train.toml`).
        dataset_dir: A folder written by `dgx-pixels train dataset` (holds `manifest.json`).
        base_checkpoint: The SDXL single-file checkpoint the LoRA is trained against.
        work_dir: The run's private folder: checkpoints, logs, samples, the finished LoRA.
        output_name: The LoRA's name (file stem and `ss_output_name`).
        trigger: The trigger word the captions start with.
        resume: Continue from the newest checkpoint in `work_dir`, if there is one.
        device: Torch device for the embedded trainer ("cpu", "cuda", "cuda:1").
    """

    spec: TrainingSpec
    dataset_dir: Path
    base_checkpoint: Path
    work_dir: Path
    output_name: str
    trigger: str = ""
    resume: bool = False
    device: str = "cpu"


@dataclass(frozen=True)
class TrainProgress:
    """One progress report, sent at least once per logged step.

    Attributes:
        step: Optimiser steps done so far (resumed runs count from the checkpoint).
        total_steps: `spec.steps`.
        loss: The latest (smoothed) training loss, or None before the first step.
        lr: The learning rate of the latest step.
        it_per_s: Measured steps per second over the recent window (0 while unknown).
        eta_s: Projected seconds to finish, or None while unknown.
        val_loss: Set on the steps where a validation loss was computed.
        sample: Path of a sample image written at this step, if any.
        message: A short human line ("caching latents", "checkpoint saved at 500").
    """

    step: int
    total_steps: int
    loss: float | None = None
    lr: float = 0.0
    it_per_s: float = 0.0
    eta_s: float | None = None
    val_loss: float | None = None
    sample: Path | None = None
    message: str = ""


@dataclass(frozen=True)
class TrainOutcome:
    """A finished run.

    Attributes:
        lora_path: The kohya-format `.safetensors` inside `work_dir`.
        backend: Which backend trained it ("kohya", "embedded").
        steps: Optimiser steps done in total.
        seconds: Wall time of this process's part of the run.
        final_loss: The last training loss.
        val_losses: (step, validation loss) pairs in step order.
        resumed_from: The step the run resumed from (0: fresh start).
    """

    lora_path: Path
    backend: str
    steps: int
    seconds: float
    final_loss: float | None
    val_losses: tuple[tuple[int, float], ...] = ()
    resumed_from: int = 0


ProgressCallback = Callable[[TrainProgress], None]


class StopRequested(Exception):
    """Raised inside a backend when `should_stop()` turned true; the run saved what it could."""


class TrainerBackend(Protocol):
    """What the service needs of a trainer."""

    @property
    def name(self) -> str:
        """ "kohya" or "embedded"."""
        ...

    def train(
        self,
        request: TrainRequest,
        on_progress: ProgressCallback,
        should_stop: Callable[[], bool],
    ) -> TrainOutcome:
        """Run to `spec.steps` (or until `should_stop()`, then raise `StopRequested`).

        Raises:
            StopRequested: the caller asked to stop (cancel, time guard); checkpoints stay.
            TrainingError: bad input (dataset, spec, paths), named.
            TrainerCrashed: (`training.errors`, one class for every backend) the run
                died; carries the tail of its log.
        """
        ...
