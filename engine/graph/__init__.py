"""Graph validation and execution with ComfyUI's semantics and error JSON."""

from __future__ import annotations

from engine.graph.events import EventSink, NullSink
from engine.graph.executor import ExecutionOutcome, PromptExecutor
from engine.graph.node_info import node_info
from engine.graph.registry import NodeRegistry
from engine.graph.validation import ValidationResult, validate_prompt

__all__ = [
    "EventSink",
    "ExecutionOutcome",
    "NodeRegistry",
    "NullSink",
    "PromptExecutor",
    "ValidationResult",
    "node_info",
    "validate_prompt",
]
