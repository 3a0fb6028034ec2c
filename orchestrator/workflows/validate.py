"""Checking an API-format graph against a backend's `/object_info` before sending it.

Catches what ComfyUI's own validation would reject (unknown node class, missing required
input, a value out of range or not in a combo, a link to a missing node or slot, a link of
the wrong type, no output node) and reports every problem at once, each located by node id,
class and input. Combos come in two shapes and both are handled: V1 `[["a", "b"], {...}]`
and V3 `["COMBO", {"options": [...]}]`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from orchestrator.workflows.errors import ValidationProblem, WorkflowValidationError

__all__ = ["combo_options", "input_spec", "is_link", "validate_against_object_info"]

_SECTIONS = ("required", "optional")


def is_link(value: Any) -> bool:
    """A 2-element `[node_id, slot]` list is a link in API format."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def combo_options(spec: Any) -> list[Any] | None:
    """The allowed values of a combo input spec (V1 or V3 shape), or None if not a combo."""
    if not isinstance(spec, list | tuple) or not spec:
        return None
    kind = spec[0]
    if isinstance(kind, list | tuple):
        return list(kind)
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if kind == "COMBO":
        return list(options.get("options", []))
    return None


def input_spec(info: Mapping[str, Any], name: str) -> tuple[str, Any] | None:
    """(`required`|`optional`, spec) of input `name` of a node's object_info."""
    sections = info.get("input") or {}
    for section in _SECTIONS:
        spec = (sections.get(section) or {}).get(name)
        if spec is not None:
            return section, spec
    return None


def _options(spec: Any) -> dict[str, Any]:
    if isinstance(spec, list | tuple) and len(spec) > 1 and isinstance(spec[1], dict):
        return spec[1]
    return {}


def _check_number(value: Any, kind: str, opts: Mapping[str, Any]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expects {kind}, got {value!r}"
    if kind == "INT" and isinstance(value, float) and not value.is_integer():
        return f"expects a whole number, got {value!r}"
    if opts.get("min") is not None and value < opts["min"]:
        return f"value {value!r} is smaller than the minimum {opts['min']!r}"
    if opts.get("max") is not None and value > opts["max"]:
        return f"value {value!r} is bigger than the maximum {opts['max']!r}"
    return None


def _check_combo(value: Any, options: list[Any], opts: Mapping[str, Any]) -> str | None:
    # LoadImage-style uploads accept sub-folder paths the combo does not list.
    if opts.get("image_upload") or value in options:
        return None
    shown = options if len(options) <= 20 else f"(list of length {len(options)})"
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=3, cutoff=0.8)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"value {value!r} is not in the list {shown}{hint}"


def _check_widget(value: Any, spec: Any) -> str | None:
    options = combo_options(spec)
    opts = _options(spec)
    if options is not None:
        return _check_combo(value, options, opts)
    kind = spec[0] if isinstance(spec, list | tuple) and spec else spec
    if isinstance(value, dict) and "__value__" in value:
        return None
    if kind in ("INT", "FLOAT"):
        return _check_number(value, str(kind), opts)
    if kind == "STRING":
        return None if isinstance(value, str) else f"expects a string, got {value!r}"
    if kind == "BOOLEAN":
        return None if isinstance(value, bool) else f"expects true/false, got {value!r}"
    if kind == "*":
        return None
    return f"expects a link from a node producing {kind}, got the value {value!r}"


def _input_type(spec: Any) -> str | None:
    kind = spec[0] if isinstance(spec, list | tuple) and spec else spec
    return kind if isinstance(kind, str) and kind != "COMBO" else None


def _check_link(
    link: list[Any], spec: Any, graph: Mapping[str, Any], object_info: Mapping[str, Any]
) -> str | None:
    source_id, slot = str(link[0]), link[1]
    source = graph.get(source_id)
    if not isinstance(source, dict):
        return f"links to node {source_id}, which is not in the graph"
    source_info = object_info.get(str(source.get("class_type")))
    if not isinstance(source_info, dict):
        return None  # the source node's own problem is reported there
    outputs = source_info.get("output") or []
    if not 0 <= slot < len(outputs):
        return (
            f"links to output slot {slot} of node {source_id}, which has {len(outputs)} output(s)"
        )
    wanted, given = _input_type(spec), outputs[slot]
    if wanted and isinstance(given, str) and "*" not in (wanted, given) and wanted != given:
        return f"expects {wanted} but node {source_id} slot {slot} gives {given}"
    return None


def _check_inputs(
    node_id: str,
    class_type: str,
    inputs: Mapping[str, Any],
    info: Mapping[str, Any],
    context: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> list[ValidationProblem]:
    graph, object_info = context
    problems: list[ValidationProblem] = []
    sections = info.get("input") or {}
    for section in _SECTIONS:
        for name, spec in (sections.get(section) or {}).items():
            if name not in inputs:
                if section == "required":
                    problems.append(
                        ValidationProblem(node_id, class_type, name, "required input is missing")
                    )
                continue
            value = inputs[name]
            message = (
                _check_link(value, spec, graph, object_info)
                if is_link(value)
                else _check_widget(value, spec)
            )
            if message:
                problems.append(ValidationProblem(node_id, class_type, name, message))
    return problems


def _check_node(
    node_id: str, node: Any, graph: Mapping[str, Any], object_info: Mapping[str, Any]
) -> list[ValidationProblem]:
    if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
        return [ValidationProblem(node_id, "?", None, "has no class_type")]
    class_type: str = node["class_type"]
    info = object_info.get(class_type)
    if not isinstance(info, dict):
        close = difflib.get_close_matches(class_type, list(object_info), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return [
            ValidationProblem(
                node_id,
                class_type,
                None,
                f"the backend has no node class {class_type!r} (is the node pack installed?){hint}",
            )
        ]
    inputs = node.get("inputs")
    if not isinstance(inputs, dict):
        return [ValidationProblem(node_id, class_type, None, "inputs must be an object")]
    return _check_inputs(node_id, class_type, inputs, info, (graph, object_info))


def validate_against_object_info(graph: Mapping[str, Any], object_info: Mapping[str, Any]) -> None:
    """Raise `WorkflowValidationError` listing every problem, or return if the graph fits.

    Args:
        graph: API-format graph.
        object_info: the backend's `/object_info` answer.
    """
    if not isinstance(graph, Mapping) or not graph:
        raise WorkflowValidationError([ValidationProblem("-", "-", None, "the graph is empty")])
    problems: list[ValidationProblem] = []
    for node_id, node in graph.items():
        problems += _check_node(str(node_id), node, graph, object_info)
    has_output = any(
        isinstance(node, dict)
        and isinstance(object_info.get(str(node.get("class_type"))), dict)
        and object_info[str(node["class_type"])].get("output_node")
        for node in graph.values()
    )
    if not has_output and not problems:
        problems.append(
            ValidationProblem("-", "-", None, "the graph has no output node (e.g. SaveImage)")
        )
    if problems:
        raise WorkflowValidationError(problems)
