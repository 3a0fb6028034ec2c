"""Helpers for the training-job tests (importable: test folders are not packages).

`StepTrainer` meets `training.backend.TrainerBackend` step by step without torch training:
it reports a falling loss every step, writes a JSON checkpoint every
`spec.save_every_n_steps` into `work_dir/checkpoints/`, resumes from the newest one when
asked, honours `should_stop` between steps, and finally writes a real kohya-format LoRA for
the tiny SDXL model (`fixtures.tiny_sdxl.write_tiny_lora`). It exercises the job machinery
(claims, leases, kill -9 take-over, cancel, the time guard, the registry) at a chosen pace;
the embedded trainer's own tests cover the training itself.

`sprite_sources` writes pixel-art PNGs for `train dataset` to prepare; `dataset_dir` writes
the smallest folder the service accepts as a prepared dataset;
`stub_models` the smallest models folder (a `base` checkpoint no `StepTrainer` reads);
`train_service` builds a service without image backends whose train jobs run one trainer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.composition import build_service
from orchestrator.service import Service
from orchestrator.service.outputs import FileHasher
from orchestrator.service.train_parts import RegistryDoor, TrainingParts
from orchestrator.settings import Settings
from training.backend import (
    StopRequested,
    TrainerBackend,
    TrainOutcome,
    TrainProgress,
    TrainRequest,
)

__all__ = [
    "StepTrainer",
    "dataset_dir",
    "latest_checkpoint",
    "sprite_sources",
    "stub_models",
    "train_service",
]


def latest_checkpoint(work_dir: Path) -> int:
    """The newest checkpoint's step in a `StepTrainer` run folder (0: none)."""
    steps = [int(p.stem.split("-")[1]) for p in (work_dir / "checkpoints").glob("step-*.json")]
    return max(steps, default=0)


@dataclass
class StepTrainer:
    """A trainer that takes `step_s` per step (see the module docstring).

    Attributes:
        step_s: Seconds each step sleeps.
        name: Its backend name.
        it_per_s: The rate it reports (default: 1 / step_s).
        sample_every: Write a 4x4 sample PNG every this many steps (0: none).
    """

    step_s: float = 0.0
    name: str = "steps"
    it_per_s: float | None = None
    sample_every: int = 0

    def train(
        self,
        request: TrainRequest,
        on_progress: Callable[[TrainProgress], None],
        should_stop: Callable[[], bool],
    ) -> TrainOutcome:
        from fixtures.tiny_sdxl import write_tiny_lora

        began = time.monotonic()
        spec = request.spec
        start = latest_checkpoint(request.work_dir) if request.resume else 0
        rate = self.it_per_s or (1.0 / self.step_s if self.step_s else 1000.0)
        loss = None
        for step in range(start + 1, spec.steps + 1):
            if should_stop():
                raise StopRequested(f"stopped before step {step}")
            time.sleep(self.step_s)
            loss = 1.0 / step
            if step % spec.save_every_n_steps == 0:
                folder = request.work_dir / "checkpoints"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"step-{step}.json").write_text(json.dumps({"loss": loss}))
            on_progress(
                TrainProgress(
                    step=step,
                    total_steps=spec.steps,
                    loss=loss,
                    lr=spec.learning_rate,
                    it_per_s=rate,
                    eta_s=(spec.steps - step) / rate,
                    val_loss=loss * 1.1 if step % spec.validate_every_n_steps == 0 else None,
                    sample=self._sample(request.work_dir, step),
                )
            )
        lora = write_tiny_lora(request.work_dir / f"{request.output_name}.safetensors")
        return TrainOutcome(
            lora_path=lora,
            backend=self.name,
            steps=spec.steps,
            seconds=time.monotonic() - began,
            final_loss=loss,
            resumed_from=start,
        )

    def _sample(self, work_dir: Path, step: int) -> Path | None:
        if not self.sample_every or step % self.sample_every:
            return None
        from PIL import Image

        path = work_dir / "samples" / f"step-{step}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4), (step % 256, 0, 0)).save(path)
        return path


def sprite_sources(folder: Path, count: int = 5) -> Path:
    """`count` seeded 60x60 sprites in `folder` (new): 12x12 cells of three levels per
    channel, each cell 5x5 pixels, as `s<i>.png`."""
    import numpy as np
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        cells = rng.integers(0, 3, size=(12, 12)) * 90
        rgb = np.stack([cells, cells[::-1], cells.T], axis=-1).astype(np.uint8)
        Image.fromarray(np.repeat(np.repeat(rgb, 5, 0), 5, 1)).save(folder / f"s{i}.png")
    return folder


def dataset_dir(root: Path, trigger: str = "pxlknight") -> Path:
    """A folder with the `manifest.json` of a prepared dataset (no images: `StepTrainer`
    reads none)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps({"trigger": trigger, "images": []}))
    return root


def stub_models(folder: Path) -> Path:
    """`folder` as a models/ folder holding `checkpoints/base.safetensors`: a few bytes,
    enough for a train request to name `base` (`StepTrainer` never opens it)."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "base.safetensors").write_bytes(b"base")
    return folder


def train_service(
    models: Path, data_dir: Path, trainer: TrainerBackend, **fields: object
) -> Service:
    """A service (not started) without image backends whose train jobs all run `trainer`
    on the CPU and register their LoRAs under `models/loras`.

    Args:
        models: The models folder (`stub_models`, or one with a real checkpoint).
        data_dir: The service's data folder.
        trainer: What every train job runs.
        **fields: More `Settings` fields.
    """
    settings = Settings(data_dir=data_dir, models_dir=models, health_interval_s=0.5, **fields)
    parts = TrainingParts(
        choose_trainer=lambda: trainer,
        registry=RegistryDoor(models / "loras", FileHasher()),
        device="cpu",
        data_dir=settings.data_dir,
    )
    return build_service(settings, backends=False, training=parts)
