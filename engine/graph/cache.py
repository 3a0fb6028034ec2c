"""ComfyUI's classic output cache: outputs keyed by an input signature, last prompt only.

A node's signature is its class, its `IS_CHANGED` value and its inputs, with each link
replaced by the signature of the node it comes from; so a node is re-run exactly when it or
anything upstream changed. `IS_CHANGED` returning NaN (or raising) means "always re-run".
Nodes that are `NOT_IDEMPOTENT` or take a `UNIQUE_ID` also key on their node id.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.graph.interface import input_types, is_link
from engine.graph.node_call import NodeOutput
from engine.graph.registry import NodeRegistry

__all__ = ["OutputCache", "SignatureBuilder"]


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, list | tuple):
        return any(_has_nan(item) for item in value)
    return False


@dataclass
class SignatureBuilder:
    """Computes (and memoises per prompt) the cache key of each node.

    Attributes:
        prompt: the validated API graph.
        registry: node classes.
        is_changed: `node_id -> IS_CHANGED value` (already NaN on failure).
    """

    prompt: dict[str, Any]
    registry: NodeRegistry
    is_changed: Callable[[str], Any]
    _keys: dict[str, str] = field(default_factory=dict)

    def key(self, node_id: str) -> str:
        """The cache key of `node_id` (computed once per prompt)."""
        if node_id not in self._keys:
            self._keys[node_id] = self._compute(node_id)
        return self._keys[node_id]

    def _compute(self, node_id: str) -> str:
        node = self.prompt[node_id]
        node_class = self.registry.classes[node["class_type"]]
        changed = self.is_changed(node_id) if hasattr(node_class, "IS_CHANGED") else ""
        # NaN never equals itself, so ComfyUI always re-runs it: give it a fresh key.
        changed_part: Any = uuid.uuid4().hex if _has_nan(changed) else changed
        inputs = []
        for name in sorted(node["inputs"]):
            value = node["inputs"][name]
            if is_link(value):
                inputs.append([name, "link", self.key(str(value[0])), value[1]])
            else:
                inputs.append([name, "value", value])
        signature: list[Any] = [node["class_type"], changed_part, inputs]
        hidden = input_types(node_class)["hidden"].values()
        if getattr(node_class, "NOT_IDEMPOTENT", False) or "UNIQUE_ID" in hidden:
            signature.append(node_id)
        encoded = json.dumps(signature, sort_keys=True, default=repr).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass
class OutputCache:
    """Node outputs (and their `ui`) by signature; after each prompt only its keys survive."""

    _entries: dict[str, NodeOutput] = field(default_factory=dict)

    def get(self, key: str) -> NodeOutput | None:
        """The cached output for `key`, or None."""
        return self._entries.get(key)

    def put(self, key: str, output: NodeOutput) -> None:
        """Store a node's output under its key."""
        self._entries[key] = output

    def keep_only(self, keys: Iterable[str]) -> None:
        """Drop every entry whose key is not in `keys` (classic: last prompt only)."""
        keep = set(keys)
        for key in [k for k in self._entries if k not in keep]:
            del self._entries[key]

    def clear(self) -> None:
        """Forget every cached output."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
