"""Which nodes a prompt must run, and in what order.

Only nodes the requested outputs need are considered; the walk stops at nodes whose output
is already cached (their upstream is not needed). The order is a depth-first topological
order, outputs needing the fewest fresh nodes first (ComfyUI's heuristic).
`split_host_tail` then moves the host-side tail (pixelize, PNG encode, file writes) behind
the device work, so the device can be handed to the next prompt while the tail runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.graph.interface import is_link

__all__ = ["execution_order", "split_host_tail", "upstream_closure"]


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


def split_host_tail(
    prompt: dict[str, Any], order: Sequence[str], is_host: Callable[[str], bool]
) -> tuple[list[str], list[str]]:
    """Split an execution order into (head, tail): the tail is every host-side node whose
    consumers in `order` are all in the tail, so no head node needs a tail node's output.

    Both keep `order`'s relative order, so head + tail is still a topological order.
    """
    consumers: dict[str, list[str]] = {node_id: [] for node_id in order}
    for node_id in order:
        for source in _links(prompt, node_id):
            if source in consumers:
                consumers[source].append(node_id)
    tail: set[str] = set()
    for node_id in reversed(order):  # consumers come later in a topological order
        if is_host(node_id) and all(c in tail for c in consumers[node_id]):
            tail.add(node_id)
    head = [n for n in order if n not in tail]
    return head, [n for n in order if n in tail]
