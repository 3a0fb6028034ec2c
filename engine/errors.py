"""Errors of the embedded engine.

EngineError
├── ExtraModelPathsError       a malformed or unreadable extra_model_paths.yaml
├── InterruptedByUser          the user interrupted the running prompt
├── LimitExceeded              a prompt asks for more than the engine's caps allow
├── ModelLoadError             missing, corrupt or unrecognised model / LoRA file
├── NodeExecutionError         a node raised while running (wraps the cause)
├── PromptValidationError      the graph failed validation; carries ComfyUI's error JSON
└── WarmupRefused              a start-up warm-up shape or checkpoint cannot be warmed
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "EngineError",
    "ExtraModelPathsError",
    "InterruptedByUser",
    "LimitExceeded",
    "ModelLoadError",
    "NodeExecutionError",
    "PromptValidationError",
    "WarmupRefused",
]


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""


class ExtraModelPathsError(EngineError):
    """An `extra_model_paths.yaml` is missing, not YAML, or has a malformed section or key."""


class InterruptedByUser(EngineError):
    """The running prompt was interrupted through /interrupt."""


class LimitExceeded(EngineError):
    """A prompt asks for more pixels, outputs or text than `engine.limits` allows."""


class ModelLoadError(EngineError):
    """A checkpoint or LoRA is missing, corrupt or not SDXL-shaped."""


class NodeExecutionError(EngineError):
    """A node raised while running."""


class PromptValidationError(EngineError):
    """The graph failed validation. `error` and `node_errors` are ComfyUI's JSON shapes."""

    def __init__(self, error: dict[str, Any], node_errors: dict[str, Any] | None = None) -> None:
        super().__init__(error.get("message", "prompt failed validation"))
        self.error = error
        self.node_errors = node_errors or {}


class WarmupRefused(EngineError):
    """`--warmup` names a bad shape, one that does not fit in memory, or no checkpoint."""
