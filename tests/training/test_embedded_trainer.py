"""The embedded trainer (diffusers + peft) on CPU with the tiny SDXL: a real run writes a
kohya LoRA whose every key the engine matches, progress is reported, validation is
deterministic, and bad inputs are refused by name."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.backend import TrainProgress, TrainRequest
from training.dataset import DatasetOptions, prepare_dataset
from training.embedded import EmbeddedTrainer
from training.errors import DatasetError, TrainingError
from training.lora_io import read_lora
from training.spec import TrainingSpec

PALETTE = np.array([[20, 20, 40], [200, 60, 60], [240, 200, 80], [60, 160, 90]], np.uint8)


def write_sprites(folder: Path, count: int) -> Path:
    """`count` seeded 16×16-cell sprites, each upscaled ×4 (as users' files often are)."""
    folder.mkdir(parents=True)
    for seed in range(count):
        rng = np.random.default_rng(seed)
        rgba = np.zeros((16, 16, 4), np.uint8)
        rgba[2:-2, 2:-2, :3] = PALETTE[rng.integers(0, 4, size=(12, 12))]
        rgba[2:-2, 2:-2, 3] = 255
        Image.fromarray(np.repeat(np.repeat(rgba, 4, axis=0), 4, axis=1)).save(
            folder / f"sprite{seed}.png"
        )
    return folder


@pytest.fixture(scope="module")
def dataset4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("embedded")
    out = root / "dataset"
    prepare_dataset(
        write_sprites(root / "src", 4), out, DatasetOptions(trigger="pxtest", min_images=4)
    )
    return out


def quick_spec(**overrides: object) -> TrainingSpec:
    """A few steps at 256² (32² latents) without gradient checkpointing: seconds on a CPU."""
    values: dict[str, object] = {
        "rank": 4,
        "alpha": 4.0,
        "learning_rate": 1e-2,
        "steps": 4,
        "resolution": 256,
        "gradient_checkpointing": False,
        "save_every_n_steps": 1000,
        "validate_every_n_steps": 2,
    }
    values.update(overrides)
    return TrainingSpec.model_validate(values)


def request_for(
    dataset: Path, checkpoint: Path, work: Path, spec: TrainingSpec, resume: bool = False
) -> TrainRequest:
    return TrainRequest(
        spec=spec,
        dataset_dir=dataset,
        base_checkpoint=checkpoint,
        work_dir=work,
        output_name="pxtest_style",
        trigger="pxtest",
        resume=resume,
    )


@pytest.fixture(scope="module")
def short_run(
    dataset4: Path, tiny_sdxl_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[object, list[TrainProgress]]:
    reports: list[TrainProgress] = []
    work = tmp_path_factory.mktemp("work")
    outcome = EmbeddedTrainer().train(
        request_for(dataset4, tiny_sdxl_checkpoint, work, quick_spec()),
        reports.append,
        lambda: False,
    )
    return outcome, reports


def test_a_run_writes_a_kohya_lora_with_its_metadata(short_run: tuple[object, list]) -> None:
    outcome, _ = short_run
    assert outcome.backend == "embedded"  # type: ignore[attr-defined]
    assert outcome.steps == 4  # type: ignore[attr-defined]
    contents = read_lora(outcome.lora_path)  # type: ignore[attr-defined]
    assert all(name.startswith("lora_unet_") for name in contents.modules)
    assert {w.rank for w in contents.modules.values()} == {4}
    meta = contents.metadata
    assert meta["ss_network_dim"] == "4"
    assert meta["ss_output_name"] == "pxtest_style"
    assert meta["dgxpixels.trigger"] == "pxtest"
    assert meta["dgxpixels.backend"] == "embedded"
    assert meta["ss_mixed_precision"] == "no"  # CPU: float32, and the file says so
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    # trained: the up weights left kohya's zero init
    assert any(float(w.up.abs().max()) > 0 for w in contents.modules.values())


def test_progress_reports_steps_loss_lr_and_validation(short_run: tuple[object, list]) -> None:
    outcome, reports = short_run
    steps = [r.step for r in reports if r.loss is not None]
    assert steps == sorted(steps) and steps[-1] == 4
    assert all(r.lr == pytest.approx(1e-2) for r in reports if r.loss is not None)
    assert [r.step for r in reports if r.val_loss is not None] == [0, 2, 4]
    assert [s for s, _ in outcome.val_losses] == [0, 2, 4]  # type: ignore[attr-defined]
    assert any(r.message.startswith("caching latents") for r in reports)


def test_a_missing_manifest_is_refused_by_name(tmp_path: Path, tiny_sdxl_checkpoint: Path) -> None:
    with pytest.raises(DatasetError, match=r"manifest\.json") as caught:
        EmbeddedTrainer().train(
            request_for(tmp_path, tiny_sdxl_checkpoint, tmp_path / "w", quick_spec()),
            lambda p: None,
            lambda: False,
        )
    assert caught.value.field == "dataset_dir"


def test_a_missing_base_checkpoint_is_refused_by_name(tmp_path: Path, dataset4: Path) -> None:
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(TrainingError, match="not found") as caught:
        EmbeddedTrainer().train(
            request_for(dataset4, missing, tmp_path / "w", quick_spec()),
            lambda p: None,
            lambda: False,
        )
    assert caught.value.field == "base_checkpoint"


def test_a_device_that_is_not_there_is_refused_by_name(
    tmp_path: Path, dataset4: Path, tiny_sdxl_checkpoint: Path, caplog: pytest.LogCaptureFixture
) -> None:
    request = request_for(dataset4, tiny_sdxl_checkpoint, tmp_path / "w", quick_spec())
    bad = TrainRequest(**{**request.__dict__, "device": "gpu7"})
    with caplog.at_level(logging.WARNING), pytest.raises(TrainingError) as caught:
        EmbeddedTrainer().train(bad, lambda p: None, lambda: False)
    assert caught.value.field == "device"
