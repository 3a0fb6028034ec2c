"""Pick the torch device and dtypes: CUDA with fp16 (or bf16) when present, else CPU fp32."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch

__all__ = ["DeviceChoice", "Precision", "select_device"]

Precision = Literal["auto", "fp16", "bf16", "fp32"]


@dataclass(frozen=True)
class DeviceChoice:
    """Where models run and in which dtypes."""

    device: torch.device
    dtype: torch.dtype
    vae_dtype: torch.dtype


def select_device(device: str = "auto", precision: str = "auto") -> DeviceChoice:
    """Resolve a device request.

    Args:
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
        precision: "auto" (fp16 on CUDA, fp32 on CPU), "fp16", "bf16" or "fp32".

    Raises:
        ValueError: Unknown precision, or CUDA requested but not available.
    """
    if precision not in get_args(Precision):
        raise ValueError(
            f"unknown precision={precision!r}; valid: {', '.join(get_args(Precision))}"
        )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but CUDA is not available; use device='cpu'")
    if dev.type != "cuda":
        return DeviceChoice(dev, torch.float32, torch.float32)
    dtype = {
        "auto": torch.float16,
        "fp16": torch.float16,
        "bf16": torch.bfloat16,
        "fp32": torch.float32,
    }[precision]
    # The SDXL VAE overflows in fp16; bf16 keeps fp16's speed without NaNs (ComfyUI does the same).
    vae_dtype = torch.float32 if dtype == torch.float32 else torch.bfloat16
    return DeviceChoice(dev, dtype, vae_dtype)
