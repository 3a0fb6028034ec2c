"""The default training parts of a service: the trainer choice, the LoRA registry, the device.

`default_training_parts(settings)` builds them from the settings without importing torch or
a trainer: the trainer is chosen (sd-scripts when `settings.sd_scripts` is set, else the
embedded trainer) only when a run starts or its time is projected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from orchestrator.service.outputs import FileHasher
from orchestrator.service.train_guard import SpeedBook
from orchestrator.service.train_jobs import TrainParams, TrainResult, read_progress
from orchestrator.settings import Settings
from training.backend import TrainerBackend, TrainOutcome
from training.errors import RegistryError

__all__ = [
    "LoraRegistrar",
    "RegistryDoor",
    "TrainerChoice",
    "TrainingParts",
    "default_training_parts",
    "resolve_device",
]


def resolve_device(wanted: str) -> str:
    """`auto` -> "cuda" when torch sees a GPU, else "cpu"; anything else as given."""
    if wanted != "auto":
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class LoraRegistrar(Protocol):
    """Where a finished LoRA goes (`models/loras/`): the registry's part the service uses."""

    def check_name(self, name: str, overwrite: bool) -> None:
        """Refuse a bad name, or a taken one without `overwrite` (`TrainingError`)."""
        ...

    def register(self, outcome: TrainOutcome, params: TrainParams) -> TrainResult:
        """Move the LoRA in place with its card; returns where it went."""
        ...


TrainerChoice = Callable[[], TrainerBackend]


@dataclass(frozen=True)
class TrainingParts:
    """What training needs besides the store: which trainer, where LoRAs go, the device.

    Attributes:
        choose_trainer: Returns the backend to run (sd-scripts when configured, else the
            embedded trainer).
        registry: Registers finished LoRAs.
        device: Torch device the trainer runs on ("auto": CUDA when torch sees a GPU).
        data_dir: The data dir (run folders, the speed book).
        evaluate: Runs the evaluation of a registered LoRA (None: not available).
    """

    choose_trainer: TrainerChoice
    registry: LoraRegistrar
    device: str
    data_dir: Path
    evaluate: Callable[[TrainResult, TrainParams, Path], TrainResult] | None = None

    @property
    def speeds(self) -> SpeedBook:
        """Measured seconds per step of earlier runs."""
        return SpeedBook(self.data_dir / "training" / "speed.json")

    def resolved_device(self) -> str:
        """`device`, with "auto" decided now."""
        return resolve_device(self.device)


class RegistryDoor:
    """The service's door to `training.registry` for one models folder.

    Args:
        loras_dir: `models/loras/`.
        hasher: Hashes the base checkpoint for the card (cached per file).
    """

    def __init__(self, loras_dir: Path, hasher: FileHasher) -> None:
        self.loras_dir = loras_dir
        self.hasher = hasher

    def check_name(self, name: str, overwrite: bool) -> None:
        """Refuse a bad name, or a taken one without `overwrite` (`RegistryError`)."""
        from training.registry import CARD_SUFFIX, LORA_SUFFIX, check_name

        check_name(name)
        taken = [
            p
            for p in (
                self.loras_dir / f"{name}{LORA_SUFFIX}",
                self.loras_dir / f"{name}{CARD_SUFFIX}",
            )
            if p.exists()
        ]
        if taken and not overwrite:
            raise RegistryError(
                "name",
                name,
                f"{taken[0]} exists; choose another --name, or pass --overwrite (the old "
                "LoRA is backed up)",
            )

    def register(self, outcome: TrainOutcome, params: TrainParams) -> TrainResult:
        """Copy the run's LoRA to `models/loras/<name>.safetensors` with its card."""
        from training.registry import card_from_run, register_lora

        work_dir = outcome.lora_path.parent
        request = params.request(work_dir)
        samples = [p.sample for p in read_progress(work_dir) if p.sample is not None]
        card = card_from_run(
            request,
            outcome,
            base_model_sha256=self.hasher.sha256(params.base_checkpoint),
            dataset_sha256=_file_sha256(params.dataset_dir / "manifest.json"),
            preview=samples[-1] if samples else None,
        )
        done = register_lora(
            self.loras_dir, params.name, outcome.lora_path, card, overwrite=params.overwrite
        )
        return TrainResult(
            lora_path=str(done.lora_path),
            card_path=str(done.card_path),
            backend=outcome.backend,
            steps=outcome.steps,
            final_loss=outcome.final_loss,
            resumed_from=outcome.resumed_from,
            backup_path=str(done.backups[0]) if done.backups else None,
        )


def _file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _choose_trainer(settings: Settings) -> TrainerBackend:
    """sd-scripts when `settings.sd_scripts` is set, else the embedded trainer
    (`training.backend_choice`, the one rule).

    Raises:
        SdScriptsError: the configured checkout or its Python is unusable.
    """
    from training.backend_choice import choose_backend

    tokenizers = settings.data_dir / "training" / "tokenizers"
    return choose_backend(settings.sd_scripts, settings.sd_scripts_python, tokenizers)


def default_training_parts(settings: Settings) -> TrainingParts:
    """Training as the settings configure it (nothing heavy is imported here)."""
    models = settings.resolved_models_dir
    return TrainingParts(
        choose_trainer=lambda: _choose_trainer(settings),
        registry=RegistryDoor(
            models / "loras", FileHasher(settings.data_dir / "model_hashes.json")
        ),
        device=settings.train_device,
        data_dir=settings.data_dir,
    )
