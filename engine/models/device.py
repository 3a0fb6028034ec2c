"""Pick the torch device and dtypes: CUDA with fp16 (or bf16) when present, else CPU fp32."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.models.precision import PRECISIONS, Precision

__all__ = ["DeviceChoice", "Precision", "select_device"]


@dataclass(frozen=True)
class DeviceChoice:
    """Where models run and in which dtypes."""

    device: torch.device
    dtype: torch.dtype
    vae_dtype: torch.dtype
    fp8: bool = False  # the UNet's transformer Linear layers in float8 (engine.models.speed)


def select_device(device: str = "auto", precision: str = "auto") -> DeviceChoice:
    """Resolve a device request.

    Args:
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
        precision: One of `engine.models.precision.PRECISIONS`: "auto" (fp16 on CUDA, fp32
            on CPU), "fp16", "bf16", "fp32" or "fp8" (bf16 with a float8 UNet).

    Raises:
        ValueError: Unknown precision, CUDA requested but not available, or "fp8" where it
            cannot run (a CPU, a GPU below compute capability 8.9, no torchao).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision={precision!r}; valid: {', '.join(PRECISIONS)}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but CUDA is not available; use device='cpu'")
    if precision == "fp8":
        from engine.models.speed import check_fp8_support

        check_fp8_support(dev)
        return DeviceChoice(dev, torch.bfloat16, torch.bfloat16, fp8=True)
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
