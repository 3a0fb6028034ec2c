"""How the engine reads a classic (V1) ComfyUI node class and an API-format graph.

ComfyUI nodes describe themselves through class attributes (`INPUT_TYPES`, `RETURN_TYPES`,
`FUNCTION`, `OUTPUT_NODE`, ...). These helpers read them the way ComfyUI's `execution.py`
does, so validation, execution and `/object_info` agree on one interpretation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "InputInfo",
    "full_type_name",
    "input_info",
    "input_types",
    "is_link",
    "is_output_node",
    "return_types",
]

# (type, options, category) where category is "required" | "optional" | "hidden".
InputInfo = tuple[Any, dict[str, Any], str]


def input_types(node_class: type) -> dict[str, dict[str, Any]]:
    """The node's `INPUT_TYPES()` dict (always has the three categories as keys)."""
    declared = node_class.INPUT_TYPES()  # type: ignore[attr-defined]
    return {
        "required": dict(declared.get("required", {}) or {}),
        "optional": dict(declared.get("optional", {}) or {}),
        "hidden": dict(declared.get("hidden", {}) or {}),
    }


def input_info(declared: Mapping[str, Mapping[str, Any]], name: str) -> InputInfo | None:
    """Type, options and category of input `name`, or None if the node does not declare it."""
    for category in ("required", "optional", "hidden"):
        if name in declared.get(category, {}):
            spec = declared[category][name]
            if category == "hidden":
                return spec, {}, category
            spec_tuple = spec if isinstance(spec, list | tuple) else (spec,)
            options = (
                spec_tuple[1] if len(spec_tuple) > 1 and isinstance(spec_tuple[1], dict) else {}
            )
            return spec_tuple[0], dict(options), category
    return None


def is_link(value: Any) -> bool:
    """A 2-element list `[node_id, slot]` is a link (ComfyUI reads any list input as one)."""
    return isinstance(value, list)


def return_types(node_class: type) -> tuple[Any, ...]:
    """The node's `RETURN_TYPES` as a tuple."""
    return tuple(getattr(node_class, "RETURN_TYPES", ()))


def is_output_node(node_class: type) -> bool:
    """Whether the node is a graph sink (`OUTPUT_NODE = True`)."""
    return getattr(node_class, "OUTPUT_NODE", False) is True


def full_type_name(kind: type) -> str:
    """`module.Qualname` of an exception type, bare for builtins (ComfyUI's format)."""
    module = kind.__module__
    if module is None or module == "builtins":
        return kind.__qualname__
    return f"{module}.{kind.__qualname__}"
