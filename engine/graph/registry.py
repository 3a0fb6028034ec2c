"""The node classes one engine knows: core nodes plus every loaded custom-node pack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["NodeRegistry"]


@dataclass(frozen=True)
class NodeRegistry:
    """Node classes by name, with display names and the `python_module` object_info reports.

    Attributes:
        classes: class_type -> node class.
        display_names: class_type -> human name (falls back to the class_type).
        python_modules: class_type -> `nodes`, `comfy_extras.x` or `custom_nodes.<folder>`.
    """

    classes: Mapping[str, type]
    display_names: Mapping[str, str] = field(default_factory=dict)
    python_modules: Mapping[str, str] = field(default_factory=dict)

    def get(self, class_type: str) -> type | None:
        """The class registered as `class_type`, or None."""
        return self.classes.get(class_type)

    def __contains__(self, class_type: object) -> bool:
        return class_type in self.classes

    def names(self) -> list[str]:
        """Every registered class_type, core nodes first."""
        return list(self.classes)

    def display_name(self, class_type: str) -> str:
        """The human name of `class_type`."""
        return self.display_names.get(class_type, class_type)

    def python_module(self, class_type: str) -> str:
        """`nodes`, `comfy_extras.x` or `custom_nodes.<folder>` for object_info."""
        node_class = self.classes[class_type]
        return self.python_modules.get(
            class_type, getattr(node_class, "RELATIVE_PYTHON_MODULE", "nodes")
        )
