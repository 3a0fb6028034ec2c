"""Every error `training/` raises, in one tree::

    TrainingError (ValueError)       a training input has a bad value (names field + value)
    ├── DatasetError                 a dataset folder or one of its images is unusable
    ├── SpecError                    train.toml: unknown key, bad value, unreadable file
    ├── LoraFormatError              a LoRA file is not kohya format (bad key, shape, triplet)
    ├── EvaluationError              `train eval` input: prompts file, held-out or dataset folder
    ├── CheckpointError              a training checkpoint cannot be written (disk full) or read
    ├── SdScriptsError               the sd-scripts checkout or its Python is missing or unusable
    └── RegistryError                a LoRA name is refused (bad, taken) or its card is unreadable

    TrainerCrashed (RuntimeError)    an external trainer process died; carries its log's tail

Each `TrainingError` carries the offending `field` and `value`, so the service can hand the
refusal on as its own `InvalidRequest` without parsing a message. `TrainerCrashed` is no bad
input: the run itself failed, and the job fails with the tail of the trainer's output.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "DatasetError",
    "EvaluationError",
    "LoraFormatError",
    "RegistryError",
    "SdScriptsError",
    "SpecError",
    "TrainerCrashed",
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


class SdScriptsError(TrainingError):
    """The sd-scripts checkout (`sd_scripts`) or its Python (`sd_scripts_python`) is unusable."""


class RegistryError(TrainingError):
    """A LoRA name is invalid or taken, a file to register is missing, or a card is corrupt;
    nothing in the LoRA folder was changed."""


class TrainerCrashed(RuntimeError):
    """An external trainer process exited with an error (or without its LoRA file).

    Attributes:
        backend: Which backend ran it ("kohya").
        returncode: The process's exit status (negative: killed by that signal).
        tail: The last lines it wrote (stderr and stdout together), for the job's error.
        log_path: The full log in the run's work folder, if one was kept.
    """

    def __init__(
        self, backend: str, returncode: int, tail: str, log_path: str | None = None
    ) -> None:
        where = f"; full log: {log_path}" if log_path else ""
        super().__init__(f"{backend} trainer exited with status {returncode}{where}\n{tail}")
        self.backend = backend
        self.returncode = returncode
        self.tail = tail
        self.log_path = log_path
