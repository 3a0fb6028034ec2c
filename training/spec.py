"""The one training spec: every knob of a LoRA run, with defaults for an SDXL pixel-art style.

Loaded from a flat `train.toml`; a key left out takes its default. Unknown keys and values
out of range are refused naming the key and the value (`SpecError`), so a typo never
silently trains with a default. Both backends (kohya sd-scripts, the embedded trainer)
read this one model.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.errors import SpecError

__all__ = ["TrainingSpec", "load_spec", "spec_from_mapping"]


class TrainingSpec(BaseModel):
    """An SDXL UNet LoRA run. Defaults: rank 32, alpha 16, AdamW at 1e-4, bf16 with gradient
    checkpointing, 3000 steps, nearest resizing, no colour augmentation or random crop, cached
    latents and text-encoder outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: int = Field(default=32, ge=1, le=256, description="LoRA rank (network dim).")
    alpha: float = Field(
        default=16.0, gt=0, le=256, description="LoRA alpha; scale = alpha / rank."
    )
    learning_rate: float = Field(default=1e-4, gt=0, le=1e-2, description="Peak learning rate.")
    optimizer: Literal["adamw", "adamw8bit"] = Field(
        default="adamw", description="adamw becomes 8-bit AdamW when bitsandbytes is installed."
    )
    mixed_precision: Literal["bf16", "fp16", "no"] = Field(
        default="bf16", description="Autocast dtype."
    )
    gradient_checkpointing: bool = Field(default=True, description="Trade compute for memory.")
    steps: int = Field(default=3000, ge=1, le=100_000, description="Optimiser steps.")
    batch_size: int = Field(default=1, ge=1, le=64, description="Images per step.")
    resolution: int = Field(
        default=1024, ge=256, le=2048, multiple_of=64, description="Bucket area side."
    )
    resize_interpolation: Literal["nearest"] = Field(
        default="nearest", description="Pixel art is never resampled smoothly."
    )
    color_aug: bool = Field(default=False, description="Colour augmentation (shifts the palette).")
    random_crop: bool = Field(
        default=False, description="Random crops (break the pixel grid phase)."
    )
    cache_latents: bool = Field(
        default=True, description="Encode every image once, before training."
    )
    cache_text_encoder_outputs: bool = Field(default=True, description="Encode captions once.")
    min_snr_gamma: float | None = Field(default=None, gt=0, le=20, description="Min-SNR weighting.")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Noise, init and shuffle seed.")
    save_every_n_steps: int = Field(default=500, ge=1, description="Checkpoint period.")
    validate_every_n_steps: int = Field(default=250, ge=1, description="Validation-loss period.")
    sample_every_n_steps: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="Sample-image period (embedded trainer; 0: no samples).",
    )


def _refusal(error: ValidationError, source: str) -> SpecError:
    """The first problem pydantic found, as a SpecError naming the key and value."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "spec"
    if first["type"] == "extra_forbidden":
        valid = ", ".join(TrainingSpec.model_fields)
        return SpecError(key, first["input"], f"unknown key in {source}; valid keys: {valid}")
    return SpecError(key, first["input"], f"{first['msg']} (in {source})")


def spec_from_mapping(values: dict[str, object], source: str = "the spec") -> TrainingSpec:
    """A spec from already-parsed values (a TOML table, a request's fields).

    Raises:
        SpecError: an unknown key, or a value of the wrong type or out of range.
    """
    try:
        return TrainingSpec.model_validate(values)
    except ValidationError as exc:
        raise _refusal(exc, source) from exc


def load_spec(path: Path) -> TrainingSpec:
    """Read a flat `train.toml` (every key optional).

    Raises:
        SpecError: the file is missing or not TOML, or a key is unknown or out of range.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError("spec", str(path), f"cannot be read ({exc.strerror})") from exc
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError("spec", str(path), f"is not valid TOML ({exc}); fix the line") from exc
    return spec_from_mapping(values, path.name)
