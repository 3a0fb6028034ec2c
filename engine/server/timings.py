"""Where each prompt's time went, kept for `/dgxp/timings/{prompt_id}` (a debug route).

ComfyUI only logs "Prompt executed in X seconds". A benchmark or the orchestrator needs
the figures themselves, per node and against the wall clock, to tell the engine's share of
a job from its own. Times are epoch seconds (`time.time()`), so a client in another
process on the same machine can line them up with its own timestamps.

    timings = PromptTimings()
    timings.queued("p1")
    timings.finished("p1", prompt, started_at, executed_at, {"3": 2.6}, history_at)
    timings.get("p1")  # {"prompt_id": "p1", "queued_at": ..., "nodes": [...], ...}
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_KEPT", "PromptTimings"]

MAX_KEPT = 1000  # entries kept; the oldest is dropped first (a debug aid, not a history)


class PromptTimings:
    """Thread-safe record of when each prompt was queued, ran, and what each node cost."""

    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        self._lock = threading.Lock()
        self._max_kept = max_kept
        self._queued: dict[str, float] = {}
        self._done: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def queued(self, prompt_id: str) -> None:
        """Note that `prompt_id` was accepted by `/prompt` now."""
        with self._lock:
            self._queued[prompt_id] = time.time()
            while len(self._queued) > self._max_kept:  # prompts deleted before they ran
                self._queued.pop(next(iter(self._queued)))

    def finished(
        self,
        prompt_id: str,
        prompt: Mapping[str, Any],
        started_at: float,
        executed_at: float,
        node_seconds: Mapping[str, float],
        history_at: float,
        released_at: float | None = None,
    ) -> None:
        """Record one executed prompt.

        Args:
            prompt_id: The prompt.
            prompt: Its API-format graph (for the nodes' class types).
            started_at: When the worker took it off the queue.
            executed_at: When its last node returned.
            node_seconds: Node id -> seconds it ran (cached nodes are absent).
            history_at: When its history entry was about to be written (files complete).
            released_at: When its device work was done and the device thread moved on (its
                host-side tail ran after that); `executed_at` when not given.
        """
        nodes = [
            {"node": node_id, "class_type": _class_type(prompt, node_id), "seconds": seconds}
            for node_id, seconds in node_seconds.items()
        ]
        with self._lock:
            entry = {
                "prompt_id": prompt_id,
                "queued_at": self._queued.pop(prompt_id, started_at),
                "started_at": started_at,
                "executed_at": executed_at,
                "released_at": executed_at if released_at is None else released_at,
                "history_at": history_at,
                "execution_s": executed_at - started_at,
                "nodes": nodes,
            }
            self._done[prompt_id] = entry
            while len(self._done) > self._max_kept:
                self._done.popitem(last=False)

    def get(self, prompt_id: str) -> dict[str, Any] | None:
        """The record of `prompt_id`, or None if it has not finished (or was dropped)."""
        with self._lock:
            entry = self._done.get(prompt_id)
            return None if entry is None else {**entry, "nodes": list(entry["nodes"])}


def _class_type(prompt: Mapping[str, Any], node_id: str) -> str:
    node = prompt.get(node_id)
    return str(node.get("class_type", "?")) if isinstance(node, Mapping) else "?"
