"""The two TOML files an sd-scripts run reads, rendered from a `TrainingSpec`.

`--config_file` holds the training arguments (sd-scripts flattens its sections into argparse
options and, unlike argparse, accepts any key silently, so a misspelt key would just be
ignored: the tests check every key here against the options sd-scripts defines). The dataset
file (`dataset_config`) describes the prepared dataset folder: one DreamBooth-style subset of
`NAME.png` + `NAME.txt` captions whose images already have SDXL bucket sizes.

Pixel-art choices: `resize_interpolation = "nearest"` (never resample smoothly),
`bucket_no_upscale` with 64-px steps (the prepared sizes are buckets already, so nothing is
resized), no colour augmentation, random crop, flips or caption shuffling; the UNet alone is
trained (`network_train_unet_only`) against text-encoder outputs cached once; the tokenizers
are read from `tokenizer_cache_dir`, which the backend fills from the engine's offline
tokenizer data (`training.kohya.tokenizers`), so a run needs no hub.

Pure: no process, no file written here (the backend writes what `to_toml` returns).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from training.errors import SpecError
from training.spec import TrainingSpec

__all__ = [
    "NETWORK_MODULE",
    "RunFiles",
    "RunInputs",
    "dataset_config",
    "held_out_count",
    "optimizer_type",
    "to_toml",
    "training_config",
]

NETWORK_MODULE: Final[str] = "networks.lora"
TB_TRACKER: Final[str] = "tensorboard"

TomlValue = str | int | float | bool | list[str] | list[int]


@dataclass(frozen=True)
class RunFiles:
    """Where one run's files go, all inside the request's work folder.

    Attributes:
        config: The `--config_file` TOML.
        dataset: The dataset TOML.
        output_dir: sd-scripts' `output_dir` (LoRA files and `-state` folders).
        logging_dir: TensorBoard event files.
        log: The trainer's whole console output.
    """

    config: Path
    dataset: Path
    output_dir: Path
    logging_dir: Path
    log: Path

    @classmethod
    def in_folder(cls, work_dir: Path) -> RunFiles:
        """The standard layout under `work_dir`."""
        return cls(
            config=work_dir / "sd-scripts.toml",
            dataset=work_dir / "dataset.toml",
            output_dir=work_dir / "output",
            logging_dir=work_dir / "logs",
            log=work_dir / "sd-scripts.log",
        )


def optimizer_type(spec: TrainingSpec, has_bitsandbytes: bool) -> str:
    """sd-scripts' optimizer name: `adamw` is 8-bit AdamW when bitsandbytes is there.

    Raises:
        SpecError: `adamw8bit` was asked for and the sd-scripts Python has no bitsandbytes.
    """
    if spec.optimizer == "adamw8bit" and not has_bitsandbytes:
        raise SpecError(
            "optimizer",
            spec.optimizer,
            "needs bitsandbytes in the sd-scripts Python; install it there or use adamw",
        )
    return "AdamW8bit" if has_bitsandbytes else "AdamW"


def _check_for_sd_scripts(spec: TrainingSpec) -> None:
    """Refuse combinations sd-scripts would stop on minutes into a run."""
    if spec.cache_latents and (spec.color_aug or spec.random_crop):
        key = "color_aug" if spec.color_aug else "random_crop"
        raise SpecError(
            key, True, "sd-scripts cannot cache latents with it; set cache_latents = false"
        )


def held_out_count(images: int) -> int:
    """Images held out for the validation loss: a tenth, at least one from 5 images on, none
    below (the embedded trainer's rule, so both backends' validation losses compare)."""
    return max(1, images // 10) if images >= 5 else 0


def _validation_split(images: int) -> float:
    """The `validation_split` that makes sd-scripts hold out exactly `held_out_count` images.

    sd-scripts trains on the first `ceil(n * (1 - split))` shuffled images and validates on
    the last `round(n * split)`; a tenth of an image above the count keeps both exact
    against float rounding (7 * (1 - 1/7) is 6.000000000000001).
    """
    return (held_out_count(images) + 0.1) / images


def dataset_config(spec: TrainingSpec, dataset_dir: Path, images: int = 0) -> dict[str, object]:
    """The dataset TOML's table: `[general]` and one dataset with one subset.

    Args:
        spec: The run's spec.
        dataset_dir: The prepared dataset folder.
        images: How many images it holds (its manifest's count); from 5 on, some are held
            out for the validation loss (`held_out_count`).

    Raises:
        SpecError: colour augmentation or random crop together with cached latents.
    """
    _check_for_sd_scripts(spec)
    general: dict[str, TomlValue] = {
        "resolution": spec.resolution,
        "batch_size": spec.batch_size,
        "enable_bucket": True,
        "bucket_no_upscale": True,
        "bucket_reso_steps": 64,
        "min_bucket_reso": 256,
        "max_bucket_reso": 2048,
        "resize_interpolation": spec.resize_interpolation,
        "caption_extension": ".txt",
        "shuffle_caption": False,
        "color_aug": spec.color_aug,
        "random_crop": spec.random_crop,
        "flip_aug": False,
    }
    if held_out_count(images):
        general["validation_split"] = _validation_split(images)
        general["validation_seed"] = spec.seed
    subset: dict[str, TomlValue] = {"image_dir": str(dataset_dir.absolute()), "num_repeats": 1}
    return {"general": general, "datasets": [{"subsets": [subset]}]}


@dataclass(frozen=True)
class RunInputs:
    """What `training_config` needs besides the spec (`images`: the dataset's count)."""

    base_checkpoint: Path
    output_name: str
    trigger: str
    tokenizer_cache_dir: Path
    has_bitsandbytes: bool
    resume_state: Path | None = None
    images: int = 0


def training_config(spec: TrainingSpec, files: RunFiles, inputs: RunInputs) -> dict[str, object]:
    """The `--config_file` table (flat: sd-scripts flattens sections anyway).

    Raises:
        SpecError: an optimizer the sd-scripts Python cannot run, or colour augmentation or
            random crop with cached latents.
    """
    _check_for_sd_scripts(spec)
    table: dict[str, TomlValue] = {
        "pretrained_model_name_or_path": str(inputs.base_checkpoint.absolute()),
        "dataset_config": str(files.dataset.absolute()),
        "output_dir": str(files.output_dir.absolute()),
        "output_name": inputs.output_name,
        "save_model_as": "safetensors",
        "save_precision": "fp16",
        "network_module": NETWORK_MODULE,
        "network_dim": spec.rank,
        "network_alpha": spec.alpha,
        "network_train_unet_only": True,
        "cache_text_encoder_outputs": spec.cache_text_encoder_outputs,
        "cache_latents": spec.cache_latents,
        # In memory: on disk, sd-scripts writes .npz files beside the dataset's images.
        "cache_latents_to_disk": False,
        "tokenizer_cache_dir": str(inputs.tokenizer_cache_dir.absolute()),
        "resize_interpolation": spec.resize_interpolation,
        "learning_rate": spec.learning_rate,
        "unet_lr": spec.learning_rate,
        "optimizer_type": optimizer_type(spec, inputs.has_bitsandbytes),
        "lr_scheduler": "constant",
        "mixed_precision": spec.mixed_precision,
        "gradient_checkpointing": spec.gradient_checkpointing,
        "sdpa": True,
        "no_half_vae": True,  # the SDXL VAE overflows in fp16
        "max_train_steps": spec.steps,
        "seed": spec.seed,
        "save_every_n_steps": spec.save_every_n_steps,
        "save_state": True,  # the `-state` folders a resumed run continues from
        "save_last_n_steps_state": spec.save_every_n_steps,
        "max_data_loader_n_workers": 1,
        "persistent_data_loader_workers": True,
        "logging_dir": str(files.logging_dir.absolute()),
        "log_with": TB_TRACKER,
        "metadata_title": inputs.output_name,
        "metadata_trigger_phrase": inputs.trigger,
        "training_comment": f"dgx-pixels; trigger: {inputs.trigger}",
    }
    if spec.min_snr_gamma is not None:
        table["min_snr_gamma"] = spec.min_snr_gamma
    if held_out_count(inputs.images):  # the dataset TOML holds those images out
        table["validate_every_n_steps"] = spec.validate_every_n_steps
    if inputs.resume_state is not None:
        table["resume"] = str(inputs.resume_state.absolute())
    return dict(table)


def _value(value: object, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}={value!r}: TOML for sd-scripts takes finite numbers only")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: same escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(item, key) for item in value) + "]"
    raise TypeError(f"{key}: cannot write a {type(value).__name__} as TOML here")


def _table(lines: list[str], header: str, table: Mapping[str, object]) -> None:
    """Scalars of `table` under `header`, then its arrays of tables, recursively."""
    if header:
        lines.append(f"\n{header}")
    nested = {k: v for k, v in table.items() if isinstance(v, list | dict) and _is_tables(v)}
    for key, value in table.items():
        if key not in nested:
            lines.append(f"{key} = {_value(value, key)}")
    for key, value in nested.items():
        name = f"{header.strip('[]')}.{key}" if header else key
        if isinstance(value, dict):
            _table(lines, f"[{name}]", value)
            continue
        for item in value:
            _table(lines, f"[[{name}]]", item)


def _is_tables(value: object) -> bool:
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(table: Mapping[str, object]) -> str:
    """TOML text for the tables above (strings, numbers, booleans, lists, nested tables and
    arrays of tables); `tomllib.loads(to_toml(t)) == t` for them."""
    lines: list[str] = []
    _table(lines, "", table)
    return "\n".join(lines).lstrip("\n") + "\n"
