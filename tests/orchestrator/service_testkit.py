"""Helpers for the service tests (importable: test folders are not packages).

`FAST` renders the tiny checkpoint at 64x64 in one step: a job finishes in about a second
on CPU. `tiny_request` is a request with those params that a test overrides field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.service import Service
from orchestrator.service.values import GenerationRequest

__all__ = ["FAST", "MakeService", "tiny_request"]

MakeService = Callable[..., Service]
FAST: dict[str, Any] = {
    "checkpoint": "tiny_sdxl.safetensors",
    "steps": 1,
    "width": 64,
    "height": 64,
}


def tiny_request(**overrides: Any) -> GenerationRequest:
    """ "a red potion", seed 5, `FAST` params; any field overridden."""
    fields: dict[str, Any] = {"prompt": "a red potion", "seed": 5, "params": dict(FAST)}
    fields.update(overrides)
    return GenerationRequest(**fields)
