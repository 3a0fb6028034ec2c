"""Which model files drew which output: the graph traced upstream from an output node.

A sidecar must name the models its own sprite came from, not every model of the job: in
`lora_compare` the base sprite's branch loads no LoRA although the job does. Tracing the
API-format graph's links backwards from the sprite's SaveImage node finds exactly the
checkpoint and LoRA loaders that fed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Lineage", "lineage"]

_MODEL_INPUTS = (("ckpt_name", "checkpoints"), ("lora_name", "loras"))


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _upstream(graph: Mapping[str, Any], node_id: str) -> list[str]:
    """`node_id` and every node it depends on, nearest first (each once)."""
    seen: dict[str, None] = {}
    todo = [node_id]
    while todo:
        current = todo.pop(0)
        node = graph.get(current)
        if current in seen or not isinstance(node, Mapping):
            continue
        seen[current] = None
        inputs = node.get("inputs", {})
        todo += [str(v[0]) for v in inputs.values() if _is_link(v)]
    return list(seen)


class Lineage:
    """The model files upstream of one output node.

    Attributes:
        files: `{file name: folder}` of every checkpoint and LoRA that fed the node.
        loras: `[{"name", "strength"}]` of the LoRA loaders that fed it, as the job's
            parameters list them.
    """

    def __init__(self, files: dict[str, str], loras: list[dict[str, Any]]) -> None:
        self.files = files
        self.loras = loras

    @property
    def checkpoint(self) -> str | None:
        """The checkpoint that fed the node, if exactly one did."""
        names = [name for name, folder in self.files.items() if folder == "checkpoints"]
        return names[0] if len(names) == 1 else None


def lineage(graph: Mapping[str, Any], node_id: str) -> Lineage | None:
    """The models upstream of `node_id`, or None when the graph does not hold that node."""
    if node_id not in graph:
        return None
    files: dict[str, str] = {}
    loras: list[dict[str, Any]] = []
    for current in _upstream(graph, node_id):
        inputs = graph[current].get("inputs", {})
        for key, folder in _MODEL_INPUTS:
            if isinstance(inputs.get(key), str):
                files[inputs[key]] = folder
        if isinstance(inputs.get("lora_name"), str):
            strength = inputs.get("strength_model", 1.0)
            loras.append({"name": inputs["lora_name"], "strength": strength})
    return Lineage(files, loras[::-1])  # nearest first above; the chain's order is its reverse
