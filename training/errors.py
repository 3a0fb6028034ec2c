"""Every error `training/` raises, in one tree::

    TrainingError (ValueError)       a training input has a bad value (names field + value)
    ├── DatasetError                 a dataset folder or one of its images is unusable
    ├── SpecError                    train.toml: unknown key, bad value, unreadable file
    ├── LoraFormatError              a LoRA file is not kohya format (bad key, shape, triplet)
    ├── EvaluationError              `train eval` input: prompts file, held-out or dataset folder
    └── CheckpointError              a training checkpoint cannot be written (disk full) or read

Each carries the offending `field` and `value`, so the service can hand the refusal on as
its own `InvalidRequest` without parsing a message.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "DatasetError",
    "EvaluationError",
    "LoraFormatError",
    "SpecError",
    "TrainingError",
]


class TrainingError(ValueError):
    """A training input has a value that cannot be used.

    Attributes:
        field: The offending argument, key or file (`"rank"`, `"SRC"`, `"sprites/a.png"`).
        value: The value given.
        reason: What is wrong and what to do next.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class DatasetError(TrainingError):
    """A dataset source folder, option or image is unusable; nothing was written."""


class SpecError(TrainingError):
    """A training spec (`train.toml`) has an unknown key, a bad value or bad syntax."""


class LoraFormatError(TrainingError):
    """A LoRA file breaks the kohya format: a bad key, a missing part or mismatched shapes."""


class EvaluationError(TrainingError):
    """An evaluation input (prompts file, held-out folder, dataset folder) is unusable."""


class CheckpointError(TrainingError):
    """A checkpoint could not be written (disk full: the previous one is intact) or a
    checkpoint to resume from does not fit the run (another rank, a broken file)."""
