"""ComfyUI's per-node `progress_state` messages (`comfy_execution/progress.py`).

Every node of a prompt moves through running -> finished (or error); each change sends the
whole table `{prompt_id, nodes: {id: {value, max, state, node_id, prompt_id,
display_node_id, parent_node_id, real_node_id}}}` to the prompt's client (to every
socket when the prompt has none, as ComfyUI does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engine.graph.events import EventSink

__all__ = ["NodeState", "ProgressStates"]

NodeState = Literal["pending", "running", "finished", "error"]


@dataclass
class ProgressStates:
    """The node-state table of one prompt; sends it on every change."""

    sink: EventSink
    prompt_id: str
    client_id: str | None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _set(self, node_id: str, state: NodeState, value: float, maximum: float) -> None:
        self.nodes[node_id] = {
            "value": value,
            "max": maximum,
            "state": state,
            "node_id": node_id,
            "prompt_id": self.prompt_id,
            "display_node_id": node_id,
            "parent_node_id": None,
            "real_node_id": node_id,
        }
        if self.client_id is not None:
            data = {
                "prompt_id": self.prompt_id,
                "nodes": {k: dict(v) for k, v in self.nodes.items()},
            }
            self.sink.send("progress_state", data, self.client_id)

    def start(self, node_id: str) -> None:
        """The node began running."""
        self._set(node_id, "running", 0.0, 1.0)

    def update(self, node_id: str, value: float, maximum: float) -> None:
        """The node reported `value` of `maximum` steps."""
        self._set(node_id, "running", float(value), float(maximum))

    def finish(self, node_id: str) -> None:
        """The node finished (or came from the cache)."""
        maximum = self.nodes.get(node_id, {}).get("max", 1.0)
        self._set(node_id, "finished", maximum, maximum)

    def error(self, node_id: str) -> None:
        """The node failed or was interrupted."""
        current = self.nodes.get(node_id, {"value": 0.0, "max": 1.0})
        self._set(node_id, "error", current["value"], current["max"])
