"""What a training job keeps: the request in its stored params, and its run folder's records.

A `train` job's params hold everything needed to run it again from scratch or resume it in
another process (the resolved spec, not the `train.toml` path, so editing that file later
never changes a queued run). Its run folder, `<data_dir>/training/<job id>/`, is the
backend's `work_dir` (checkpoints, samples, the finished LoRA) and holds two records of
ours: `progress.jsonl` (one line per progress report: the loss curve survives restarts
and another process can read it) and `result.json` (where the LoRA was registered).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from comfy_nodes.pixel.atomic import write_atomic
from orchestrator.jobs.models import Job
from training.backend import TrainProgress, TrainRequest
from training.spec import TrainingSpec

__all__ = [
    "TRAIN_TEMPLATE",
    "TrainParams",
    "TrainResult",
    "TrainingStatus",
    "append_progress",
    "read_progress",
    "read_result",
    "work_dir_for",
    "write_result",
]

logger = logging.getLogger(__name__)

TRAIN_TEMPLATE = "train_lora"  # what a train job shows as its template in job lists
_PROGRESS_FILE = "progress.jsonl"
_RESULT_FILE = "result.json"


@dataclass(frozen=True)
class TrainParams:
    """A training run as queued (the `params` of a `train` job).

    Attributes:
        name: The LoRA's name under `models/loras/`.
        dataset_dir: Absolute dataset folder (from `train dataset`).
        base_checkpoint: Absolute path of the SDXL checkpoint trained against.
        spec: The resolved training spec.
        trigger: The trigger word (the dataset's, unless given).
        overwrite: Replace an existing LoRA of that name (the old one is backed up).
        max_hours: The time guard's limit (None: no limit).
        evaluate: Run the evaluation after a successful run.
    """

    name: str
    dataset_dir: Path
    base_checkpoint: Path
    spec: TrainingSpec
    trigger: str = ""
    overwrite: bool = False
    max_hours: float | None = None
    evaluate: bool = False

    def to_params(self) -> dict[str, Any]:
        """JSON-able params for the job store."""
        return {
            "name": self.name,
            "dataset_dir": str(self.dataset_dir),
            "base_checkpoint": str(self.base_checkpoint),
            "spec": self.spec.model_dump(mode="json"),
            "trigger": self.trigger,
            "overwrite": self.overwrite,
            "max_hours": self.max_hours,
            "evaluate": self.evaluate,
            "prompt": f"train LoRA {self.name}",  # what job lists show as the prompt
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainParams:
        """Inverse of `to_params`.

        Raises:
            KeyError, TypeError, ValueError: the stored params are not a train request
                (the runner fails the job with that message).
        """
        from training.spec import spec_from_mapping

        max_hours = params.get("max_hours")
        return cls(
            name=str(params["name"]),
            dataset_dir=Path(str(params["dataset_dir"])),
            base_checkpoint=Path(str(params["base_checkpoint"])),
            spec=spec_from_mapping(dict(params["spec"]), "the stored job"),
            trigger=str(params.get("trigger", "")),
            overwrite=bool(params.get("overwrite", False)),
            max_hours=None if max_hours is None else float(max_hours),
            evaluate=bool(params.get("evaluate", False)),
        )

    def request(self, work_dir: Path, *, resume: bool = False, device: str = "cpu") -> TrainRequest:
        """The trainer's request for this run.

        Args:
            work_dir: The run folder (`work_dir_for(data_dir, job id)`).
            resume: Continue from the newest checkpoint in `work_dir`.
            device: Torch device for the embedded trainer.
        """
        return TrainRequest(
            spec=self.spec,
            dataset_dir=self.dataset_dir,
            base_checkpoint=self.base_checkpoint,
            work_dir=work_dir,
            output_name=self.name,
            trigger=self.trigger,
            resume=resume,
            device=device,
        )


@dataclass(frozen=True)
class TrainResult:
    """Where a succeeded run's LoRA went.

    Attributes:
        lora_path: The registered `models/loras/<name>.safetensors`.
        card_path: Its card (`<name>.json`), if the registry wrote one.
        backend: Which trainer ran it.
        steps: Optimiser steps done.
        final_loss: The last training loss.
        resumed_from: The step a resumed run continued from (0: none).
        backup_path: The previous LoRA of that name, when `overwrite` replaced one.
        report_path: The evaluation report, when one was made.
    """

    lora_path: str
    card_path: str | None
    backend: str
    steps: int
    final_loss: float | None
    resumed_from: int = 0
    backup_path: str | None = None
    report_path: str | None = None


@dataclass(frozen=True)
class TrainingStatus:
    """A training job and what its run folder says about it.

    Attributes:
        job: The job as stored.
        params: Its request.
        work_dir: Its run folder.
        history: Every progress report so far, one per step (the newest report of a step
            wins: a resumed run repeats the steps after its checkpoint).
        result: Where the LoRA went, once it succeeded.
    """

    job: Job
    params: TrainParams
    work_dir: Path
    history: tuple[TrainProgress, ...] = ()
    result: TrainResult | None = None

    @property
    def latest(self) -> TrainProgress | None:
        """The newest progress report, if any."""
        return self.history[-1] if self.history else None

    @property
    def samples(self) -> tuple[Path, ...]:
        """Sample images written so far, oldest first."""
        return tuple(p.sample for p in self.history if p.sample is not None)

    @property
    def losses(self) -> tuple[float, ...]:
        """The training loss per reported step (for a sparkline)."""
        return tuple(p.loss for p in self.history if p.loss is not None)


def work_dir_for(data_dir: Path, job_id: str) -> Path:
    """The run folder of a training job (the same in every process on that data dir)."""
    return Path(data_dir) / "training" / job_id


def _progress_record(progress: TrainProgress) -> dict[str, Any]:
    record = asdict(progress)
    record["sample"] = None if progress.sample is None else str(progress.sample)
    return record


def append_progress(work_dir: Path, progress: TrainProgress) -> None:
    """Add one progress report to the run's log (one JSON line)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(_progress_record(progress), separators=(",", ":")) + "\n"
    with (work_dir / _PROGRESS_FILE).open("a+b") as handle:
        if handle.tell() > 0:  # a kill -9 mid-write leaves a torn line: start a new one
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                line = "\n" + line
        handle.write(line.encode("utf-8"))


def _progress_from(record: Mapping[str, Any]) -> TrainProgress:
    sample = record.get("sample")
    return TrainProgress(
        step=int(record["step"]),
        total_steps=int(record["total_steps"]),
        loss=_opt_float(record.get("loss")),
        lr=float(record.get("lr") or 0.0),
        it_per_s=float(record.get("it_per_s") or 0.0),
        eta_s=_opt_float(record.get("eta_s")),
        val_loss=_opt_float(record.get("val_loss")),
        sample=None if sample is None else Path(str(sample)),
        message=str(record.get("message") or ""),
    )


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"expected a number or null, got {value!r}")


def read_progress(work_dir: Path) -> tuple[TrainProgress, ...]:
    """The run's progress reports, one per step in step order (a torn last line, from a
    kill mid-write, is skipped)."""
    try:
        text = (work_dir / _PROGRESS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    by_step: dict[int, TrainProgress] = {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            progress = _progress_from(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("%s line %d skipped: %s", work_dir / _PROGRESS_FILE, number, exc)
            continue
        if progress.step in by_step and progress.loss is None:
            continue  # a message-only report never hides the step's figures
        by_step[progress.step] = progress
    return tuple(by_step[s] for s in sorted(by_step))


def write_result(work_dir: Path, result: TrainResult) -> None:
    """Record where the LoRA went (atomically: a reader sees all of it or nothing)."""
    write_atomic(work_dir / _RESULT_FILE, json.dumps(asdict(result), indent=2).encode("utf-8"))


def read_result(work_dir: Path) -> TrainResult | None:
    """The run's result, or None before it succeeded."""
    try:
        data = json.loads((work_dir / _RESULT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return TrainResult(**data)
