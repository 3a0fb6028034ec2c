"""Where and in which dtypes the embedded trainer runs, and which optimiser it uses.

On CUDA the frozen base weights are stored in the autocast dtype (bf16 by default: half the
memory and no casts in the loop) and the adapters in float32; fp16 adds a gradient scaler.
On a CPU everything is float32 with no autocast (CPU bf16 is slower than float32 there),
and the LoRA's metadata says so.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from training.errors import TrainingError
from training.spec import TrainingSpec

__all__ = ["Precision", "make_optimizer", "select_precision"]

log = logging.getLogger(__name__)

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "no": torch.float32}


@dataclass(frozen=True)
class Precision:
    """Device and dtypes of one run.

    Attributes:
        device: Where the UNet and the cached tensors live.
        weights: dtype of the frozen UNet and text encoders.
        vae: dtype of the VAE (bf16 on a GPU: the SDXL VAE overflows in fp16).
        autocast: The autocast dtype, or None for none.
        label: What the LoRA's `ss_mixed_precision` records ("bf16", "fp16", "no").
    """

    device: torch.device
    weights: torch.dtype
    vae: torch.dtype
    autocast: torch.dtype | None
    label: str

    @property
    def scaled(self) -> bool:
        """fp16 gradients need a loss scaler."""
        return self.autocast == torch.float16


def select_precision(spec: TrainingSpec, device: str) -> Precision:
    """The run's device and dtypes.

    Raises:
        TrainingError: the device is not a torch device, or CUDA is asked for but absent.
    """
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise TrainingError(
            "device", device, "not a torch device; use cpu, cuda or cuda:N"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device", device, "CUDA is not available here; use device cpu")
    if dev.type != "cuda":
        if spec.mixed_precision != "no":
            log.info(
                "training on %s in float32 (%s autocast is for CUDA)", dev, spec.mixed_precision
            )
        return Precision(dev, torch.float32, torch.float32, None, "no")
    dtype = _DTYPES[spec.mixed_precision]
    vae = torch.float32 if dtype == torch.float32 else torch.bfloat16
    autocast = None if dtype == torch.float32 else dtype
    return Precision(dev, dtype, vae, autocast, spec.mixed_precision)


def make_optimizer(
    params: Iterable[torch.nn.Parameter], spec: TrainingSpec, device: torch.device
) -> torch.optim.Optimizer:
    """AdamW: bitsandbytes' 8-bit one on CUDA when it is installed, else torch's (fused on
    CUDA)."""
    params = list(params)
    if device.type == "cuda" and importlib.util.find_spec("bitsandbytes") is not None:
        import bitsandbytes as bnb

        optimizer: torch.optim.Optimizer = bnb.optim.AdamW8bit(params, lr=spec.learning_rate)
        return optimizer
    if spec.optimizer == "adamw8bit":
        log.warning("optimizer adamw8bit: bitsandbytes is not usable here; using AdamW")
    return torch.optim.AdamW(params, lr=spec.learning_rate, fused=device.type == "cuda")
