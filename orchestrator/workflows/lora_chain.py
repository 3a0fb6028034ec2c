"""Threading 0..N `LoraLoader` nodes between a checkpoint loader and chosen consumers.

The consumers are the inputs a `loras` parameter binds (e.g. `KSampler.model` and both
`CLIPTextEncode.clip`). Each currently links to the loader's MODEL (slot 0) or CLIP
(slot 1); after rendering they link to the last LoRA of the chain instead, so parallel
branches that are not bound (the base branch of `lora_compare`) keep the bare model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.workflows.errors import TemplateDefinitionError
from orchestrator.workflows.params import LoraChoice
from orchestrator.workflows.sidecar import Binding

__all__ = ["insert_lora_chain", "lora_source"]


def _link(graph: dict[str, Any], binding: Binding) -> tuple[str, int]:
    node = graph.get(binding.node_id)
    value = node.get("inputs", {}).get(binding.input) if isinstance(node, dict) else None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[1], int)
        or value[1] not in (0, 1)
    ):
        raise TemplateDefinitionError(
            f"loras binding {binding.target!r} must be a link to a loader's MODEL (slot 0) or "
            f"CLIP (slot 1), found {value!r}"
        )
    return str(value[0]), value[1]


def lora_source(graph: dict[str, Any], bindings: Sequence[Binding]) -> str:
    """The one loader node all `bindings` link to (checked when a template loads)."""
    sources = {_link(graph, b)[0] for b in bindings}
    if len(sources) != 1:
        raise TemplateDefinitionError(
            f"loras bindings must all link to one loader node, found {sorted(sources)}"
        )
    return sources.pop()


def _next_id(graph: dict[str, Any]) -> int:
    numeric = [int(k) for k in graph if str(k).isdigit()]
    return max(numeric, default=0) + 1


def insert_lora_chain(
    graph: dict[str, Any], bindings: Sequence[Binding], loras: Sequence[LoraChoice]
) -> list[str]:
    """Insert the chain in place; returns the new node ids (empty for no LoRAs)."""
    if not loras or not bindings:
        return []
    source = lora_source(graph, bindings)
    model: list[Any] = [source, 0]
    clip: list[Any] = [source, 1]
    new_ids: list[str] = []
    next_id = _next_id(graph)
    for index, lora in enumerate(loras, start=1):
        node_id = str(next_id)
        next_id += 1
        graph[node_id] = {
            "class_type": "LoraLoader",
            "inputs": {
                "model": model,
                "clip": clip,
                "lora_name": lora.name,
                "strength_model": lora.strength,
                "strength_clip": lora.strength,
            },
            "_meta": {"title": f"LoRA {index}: {lora.name}"},
        }
        model, clip = [node_id, 0], [node_id, 1]
        new_ids.append(node_id)
    for binding in bindings:
        _, slot = _link(graph, binding)
        graph[binding.node_id]["inputs"][binding.input] = list(model if slot == 0 else clip)
    return new_ids
