"""Whole-prompt validation with ComfyUI's error JSON (`execution.validate_prompt`).

1. Every node needs a known `class_type` (else `invalid_prompt`).
2. The output nodes (optionally narrowed by `partial_execution_targets`) are collected
   (none: `prompt_no_outputs`; more than the engine's `max_outputs`:
   `prompt_too_many_outputs`, before anything else is validated).
3. Each output is validated upstream; failing outputs are dropped and their node errors
   gathered with `dependent_outputs`. If no output survives: `prompt_outputs_failed_validation`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.graph.interface import is_output_node
from engine.graph.registry import NodeRegistry
from engine.graph.validate_inputs import NodeValidator, _error, _exception_info
from engine.limits import DEFAULT_LIMITS, EngineLimits

__all__ = ["ValidationResult", "validate_prompt"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidationResult:
    """What `/prompt` answers with.

    Attributes:
        ok: the prompt can be queued.
        error: ComfyUI's top-level `error` dict when not ok.
        outputs: the output node ids that passed validation (those to execute).
        node_errors: `{node_id: {errors, dependent_outputs, class_type}}`.
    """

    ok: bool
    error: dict[str, Any] | None = None
    outputs: list[str] = field(default_factory=list)
    node_errors: dict[str, Any] = field(default_factory=dict)


def _invalid(message: str, node_id: str) -> ValidationResult:
    return ValidationResult(
        ok=False, error=_error("invalid_prompt", message, f"Node ID '#{node_id}'")
    )


def _check_shapes(prompt: dict[str, Any], registry: NodeRegistry) -> ValidationResult | None:
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or "class_type" not in node:
            return _invalid(
                "Cannot execute because a node is missing the class_type property.", node_id
            )
        if not isinstance(node["class_type"], str) or node["class_type"] not in registry:
            return _invalid(
                f"Cannot execute because node {node['class_type']} does not exist.", node_id
            )
        node.setdefault("inputs", {})
        if not isinstance(node["inputs"], dict):
            return _invalid(
                f"Cannot execute because node {node_id}'s inputs are not an object.", node_id
            )
    return None


def _collect_outputs(
    prompt: dict[str, Any], registry: NodeRegistry, targets: Sequence[str] | None
) -> list[str]:
    wanted = None if targets is None else {str(t) for t in targets}
    return [
        node_id
        for node_id, node in prompt.items()
        if is_output_node(registry.classes[node["class_type"]])
        and (wanted is None or node_id in wanted)
    ]


def _too_many_outputs(outputs: list[str], limits: EngineLimits) -> ValidationResult | None:
    if len(outputs) <= limits.max_outputs:
        return None
    message = (
        f"Prompt has {len(outputs):,} output nodes; the engine runs at most "
        f"{limits.max_outputs:,} per prompt"
    )
    details = (
        f"max_outputs={limits.max_outputs} (`engine serve --max-outputs`); split the graph "
        "into several prompts or pass partial_execution_targets"
    )
    return ValidationResult(
        ok=False, error=_error("prompt_too_many_outputs", message, details, outputs=len(outputs))
    )


def _validate_output(validator: NodeValidator, output: str) -> tuple[bool, list[dict[str, Any]]]:
    try:
        valid, reasons, _ = validator.validate(output)
    except Exception as ex:  # a node's own INPUT_TYPES/VALIDATE_INPUTS raised
        reasons = [
            _error(
                "exception_during_validation",
                "Exception when validating node",
                str(ex),
                **_exception_info(ex),
            )
        ]
        validator.validated[output] = (False, reasons, output)
        return False, reasons
    return valid, reasons


def validate_prompt(
    prompt: dict[str, Any],
    registry: NodeRegistry,
    partial_execution_targets: Sequence[str] | None = None,
    limits: EngineLimits = DEFAULT_LIMITS,
) -> ValidationResult:
    """Validate an API-format prompt (widget values are converted in place, like ComfyUI).

    Args:
        prompt: `{node_id: {"class_type", "inputs"}}`.
        registry: the node classes of this engine (call inside `bind_engine_context`).
        partial_execution_targets: only these output nodes, when given.
        limits: the engine's caps (outputs per prompt, pixels, text length).
    """
    shape_error = _check_shapes(prompt, registry)
    if shape_error is not None:
        return shape_error
    outputs = _collect_outputs(prompt, registry, partial_execution_targets)
    if not outputs:
        return ValidationResult(
            ok=False, error=_error("prompt_no_outputs", "Prompt has no outputs", "")
        )
    too_many = _too_many_outputs(outputs, limits)
    if too_many is not None:
        return too_many
    validator = NodeValidator(registry, prompt, limits)
    good: list[str] = []
    failures: list[tuple[str, list[dict[str, Any]]]] = []
    node_errors: dict[str, Any] = {}
    for output in outputs:
        valid, reasons = _validate_output(validator, output)
        if valid:
            good.append(output)
            continue
        failures.append((output, reasons))
        # Downstream nodes of a bad node are invalid with no reasons; only report the causes.
        for node_id, (node_valid, node_reasons, _) in validator.validated.items():
            if node_valid or not node_reasons:
                continue
            entry = node_errors.setdefault(
                node_id,
                {
                    "errors": node_reasons,
                    "dependent_outputs": [],
                    "class_type": prompt[node_id]["class_type"],
                },
            )
            entry["dependent_outputs"].append(output)
        logger.warning("output %s failed validation and will be ignored: %s", output, reasons)
    if not good:
        details = "\n".join(f"{e['message']}: {e['details']}" for _, errs in failures for e in errs)
        error = _error(
            "prompt_outputs_failed_validation", "Prompt outputs failed validation", details
        )
        return ValidationResult(ok=False, error=error, node_errors=node_errors)
    return ValidationResult(ok=True, outputs=good, node_errors=node_errors)
