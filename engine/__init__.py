"""Embedded ComfyUI-compatible engine: runs API-format workflows in-process on diffusers.

The public API is `__all__`: start or serve an engine (`engine.runner`), a supervised group
of engine processes (`engine.supervisor`), its error base,
the demo checkpoint writers, and a checkpoint's modules for LoRA training
(`load_trainable_sdxl`; SDXL's two tokenizers, built offline: `build_sdxl_tokenizers`).
Code outside `engine/` imports only these names (checked by `tests/test_layering.py`).
They load lazily, so `import engine` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.configs.tokenizer import build_sdxl_tokenizers
    from engine.demo_model import STAGES as DEMO_STAGES
    from engine.demo_model import DemoResult, write_demo_checkpoint, write_fullsize_demo_checkpoint
    from engine.errors import EngineError
    from engine.models.trainable import TrainableSDXL, load_trainable_sdxl
    from engine.runner import EngineConfig, RunningEngine, serve_forever, start_engine
    from engine.supervisor import (
        EngineGroup,
        GroupMember,
        MemberSlot,
        group_file,
        parse_gpus,
        read_group_members,
    )

__all__ = [
    "DEMO_STAGES",
    "DemoResult",
    "EngineConfig",
    "EngineError",
    "EngineGroup",
    "GroupMember",
    "MemberSlot",
    "RunningEngine",
    "TrainableSDXL",
    "build_sdxl_tokenizers",
    "group_file",
    "load_trainable_sdxl",
    "parse_gpus",
    "read_group_members",
    "serve_forever",
    "start_engine",
    "write_demo_checkpoint",
    "write_fullsize_demo_checkpoint",
]

# public name -> (home module, name there)
_HOMES: dict[str, tuple[str, str]] = {
    "DEMO_STAGES": ("engine.demo_model", "STAGES"),
    "DemoResult": ("engine.demo_model", "DemoResult"),
    "write_demo_checkpoint": ("engine.demo_model", "write_demo_checkpoint"),
    "write_fullsize_demo_checkpoint": ("engine.demo_model", "write_fullsize_demo_checkpoint"),
    "EngineError": ("engine.errors", "EngineError"),
    "EngineConfig": ("engine.runner", "EngineConfig"),
    "RunningEngine": ("engine.runner", "RunningEngine"),
    "serve_forever": ("engine.runner", "serve_forever"),
    "start_engine": ("engine.runner", "start_engine"),
    "EngineGroup": ("engine.supervisor", "EngineGroup"),
    "GroupMember": ("engine.supervisor", "GroupMember"),
    "MemberSlot": ("engine.supervisor", "MemberSlot"),
    "group_file": ("engine.supervisor", "group_file"),
    "parse_gpus": ("engine.supervisor", "parse_gpus"),
    "read_group_members": ("engine.supervisor", "read_group_members"),
    "TrainableSDXL": ("engine.models.trainable", "TrainableSDXL"),
    "load_trainable_sdxl": ("engine.models.trainable", "load_trainable_sdxl"),
    "build_sdxl_tokenizers": ("engine.configs.tokenizer", "build_sdxl_tokenizers"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home[0]), home[1])
