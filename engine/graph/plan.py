"""Which nodes a prompt must run, and in what order.

Only nodes the requested outputs need are considered; the walk stops at nodes whose output
is already cached (their upstream is not needed). The order is a depth-first topological
order, outputs needing the fewest fresh nodes first (ComfyUI's heuristic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.graph.interface import is_link

__all__ = ["execution_order", "upstream_closure"]


def _links(prompt: dict[str, Any], node_id: str) -> list[str]:
    return [str(value[0]) for value in prompt[node_id]["inputs"].values() if is_link(value)]


def upstream_closure(prompt: dict[str, Any], outputs: Sequence[str]) -> list[str]:
    """Every node reachable upstream from `outputs` (outputs included)."""
    seen: list[str] = []
    stack = list(outputs)
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.append(node_id)
        stack.extend(_links(prompt, node_id))
    return seen


def _post_order(
    prompt: dict[str, Any], root: str, is_cached: Callable[[str], bool], done: set[str]
) -> list[str]:
    order: list[str] = []
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:
        node_id, expanded = stack.pop()
        if node_id in done:
            continue
        if expanded or is_cached(node_id):
            done.add(node_id)
            order.append(node_id)
            continue
        stack.append((node_id, True))
        stack.extend(
            (source, False) for source in reversed(_links(prompt, node_id)) if source not in done
        )
    return order


def execution_order(
    prompt: dict[str, Any], outputs: Sequence[str], is_cached: Callable[[str], bool]
) -> list[str]:
    """Nodes to visit, upstream first; cached nodes appear but their inputs do not."""

    def fresh_count(output: str) -> int:
        """How many nodes `output` still has to run."""
        return sum(1 for n in _post_order(prompt, output, is_cached, set()) if not is_cached(n))

    done: set[str] = set()
    order: list[str] = []
    for output in sorted(outputs, key=lambda o: (fresh_count(o), o)):
        order.extend(_post_order(prompt, output, is_cached, done))
    return order
