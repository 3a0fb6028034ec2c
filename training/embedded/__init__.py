"""The embedded trainer: an SDXL UNet LoRA trained in this process with diffusers + peft.

It is the backend used when kohya sd-scripts is not configured. `EmbeddedTrainer` meets
`training.backend.TrainerBackend`; its file is the kohya format (`training.lora_io`).
Importing this package loads nothing heavy: the names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.embedded.trainer import BACKEND_NAME, EmbeddedOptions, EmbeddedTrainer

__all__ = ["BACKEND_NAME", "EmbeddedOptions", "EmbeddedTrainer"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module("training.embedded.trainer"), name)
