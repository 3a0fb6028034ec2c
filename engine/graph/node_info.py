"""`/object_info` entries, built the way ComfyUI's `server.node_info` builds them."""

from __future__ import annotations

from typing import Any

from engine.graph.interface import return_types
from engine.graph.registry import NodeRegistry

__all__ = ["node_info"]


def node_info(registry: NodeRegistry, class_type: str) -> dict[str, Any]:
    """The object_info dict of one node class (INPUT_TYPES is called, so combos are fresh).

    Raises:
        KeyError: `class_type` is not registered.
    """
    node_class = registry.classes[class_type]
    declared = node_class.INPUT_TYPES()  # type: ignore[attr-defined]
    outputs = list(return_types(node_class))
    info: dict[str, Any] = {
        "input": declared,
        "input_order": {key: list(value.keys()) for key, value in declared.items()},
        "output": outputs,
        "output_is_list": list(getattr(node_class, "OUTPUT_IS_LIST", [False] * len(outputs))),
        "output_name": list(getattr(node_class, "RETURN_NAMES", outputs)),
        "name": class_type,
        "display_name": registry.display_name(class_type),
        "description": getattr(node_class, "DESCRIPTION", ""),
        "python_module": registry.python_module(class_type),
        "category": getattr(node_class, "CATEGORY", "sd"),
        "output_node": getattr(node_class, "OUTPUT_NODE", False) is True,
    }
    if hasattr(node_class, "OUTPUT_TOOLTIPS"):
        info["output_tooltips"] = list(node_class.OUTPUT_TOOLTIPS)
    if getattr(node_class, "DEPRECATED", False):
        info["deprecated"] = True
    if getattr(node_class, "EXPERIMENTAL", False):
        info["experimental"] = True
    if hasattr(node_class, "API_NODE"):
        info["api_node"] = node_class.API_NODE
    return info
