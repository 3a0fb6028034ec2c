"""The training time guard: project a run's total time from measured step times.

Two checks, both against `--max-hours`:

1. Before a run is queued: if a run of the same shape (trainer, device, base checkpoint,
   resolution, rank, batch size) was measured before on this data dir, `steps` times its
   seconds per step is the projection; over the limit, the run is refused with the numbers.
2. While it runs: after a few steps, the time spent so far in this process plus the steps
   left at the measured rate; over the limit, the run is stopped (its checkpoints stay, so
   `jobs retry` resumes it) and the job fails saying so, with the numbers.

Every finished or stopped run records its measured seconds per step (`SpeedBook`), so the
next run of that shape is judged before it starts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from comfy_nodes.pixel.atomic import write_atomic
from orchestrator.errors import StoreError
from training.backend import TrainProgress
from training.spec import TrainingSpec

__all__ = [
    "MIN_MEASURED_STEPS",
    "RunShape",
    "SpeedBook",
    "TimeGuard",
    "projection_refusal",
]

logger = logging.getLogger(__name__)

MIN_MEASURED_STEPS = 3  # steps of this process before its rate is trusted


@dataclass(frozen=True)
class RunShape:
    """What a step's time depends on: runs of one shape take as long per step."""

    trainer: str
    device: str
    base: str  # the checkpoint's file name
    resolution: int
    rank: int
    batch_size: int

    @classmethod
    def of(cls, trainer: str, device: str, base: Path, spec: TrainingSpec) -> RunShape:
        """The shape of a run of `spec` on `base` with `trainer` on `device`."""
        return cls(trainer, device, base.name, spec.resolution, spec.rank, spec.batch_size)

    @property
    def key(self) -> str:
        """Its key in the speed book."""
        return (
            f"{self.trainer}|{self.device}|{self.base}|{self.resolution}px|rank {self.rank}|"
            f"batch {self.batch_size}"
        )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h"


def projection_refusal(
    max_hours: float, steps: int, seconds_per_step: float, shape: RunShape
) -> str | None:
    """Why a run of `steps` steps at a measured `seconds_per_step` breaks `max_hours`, or
    None when it fits."""
    projected = steps * seconds_per_step
    if projected <= max_hours * 3600:
        return None
    return (
        f"projected {_hours(projected)} ({steps} steps x {seconds_per_step:.3g} s/step, "
        f"measured on an earlier run of this shape: {shape.key}) exceeds --max-hours "
        f"{max_hours:g}; lower --steps to at most {int(max_hours * 3600 / seconds_per_step)} "
        "or raise --max-hours"
    )


class SpeedBook:
    """Measured seconds per step by run shape, in `<data_dir>/training/speed.json`.

    Args:
        path: The book's file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # a damaged book only loses old figures
            logger.warning("%s unreadable (%s); measuring again", self.path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}

    def seconds_per_step(self, shape: RunShape) -> float | None:
        """The last measured figure for `shape`, or None."""
        return self._read().get(shape.key)

    def record(self, shape: RunShape, seconds_per_step: float) -> None:
        """Keep a measured figure (atomically replacing the file)."""
        if seconds_per_step <= 0:
            return
        book = self._read()
        book[shape.key] = seconds_per_step
        try:
            write_atomic(self.path, json.dumps(book, indent=2, sort_keys=True).encode("utf-8"))
        except OSError as exc:
            raise StoreError(f"speed book {str(self.path)!r}: cannot be written ({exc})") from exc


class TimeGuard:
    """Judges a running job against its limit from the progress it reports.

    Args:
        max_hours: The limit (None: never stops a run, only measures it).
        started_s: When this process started the run (`time.monotonic()`).
    """

    def __init__(self, max_hours: float | None, started_s: float) -> None:
        self.max_hours = max_hours
        self.started_s = started_s
        self._first_step: int | None = None
        self.seconds_per_step: float | None = None

    def observe(self, progress: TrainProgress, now_s: float) -> str | None:
        """Take one report; return the stop message once the projection breaks the limit.

        Args:
            progress: The backend's report.
            now_s: `time.monotonic()` now.
        """
        if progress.it_per_s > 0:
            self.seconds_per_step = 1.0 / progress.it_per_s
        if self._first_step is None:
            self._first_step = progress.step
        measured = progress.step - self._first_step
        if self.max_hours is None or self.seconds_per_step is None:
            return None
        if measured < MIN_MEASURED_STEPS:
            return None
        elapsed = now_s - self.started_s
        left = max(0, progress.total_steps - progress.step) * self.seconds_per_step
        projected = elapsed + left
        if projected <= self.max_hours * 3600:
            return None
        return (
            f"time guard: projected {_hours(projected)} ({_hours(elapsed)} so far + "
            f"{progress.total_steps - progress.step} steps left x "
            f"{self.seconds_per_step:.3g} s/step measured) exceeds --max-hours "
            f"{self.max_hours:g}; stopped at step {progress.step} of {progress.total_steps} "
            "(its checkpoints are kept)"
        )
