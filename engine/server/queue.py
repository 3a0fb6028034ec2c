"""ComfyUI's prompt queue and in-memory history (`execution.PromptQueue`).

A heap ordered by `number` (then prompt id) holds pending items `[number, prompt_id,
prompt, extra_data, outputs]`; one item runs at a time. Finished prompts go into an
insertion-ordered history capped at 10000 entries. Every change calls `on_change` (the
server broadcasts a `status` message).
"""

from __future__ import annotations

import copy
import heapq
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAXIMUM_HISTORY_SIZE", "PromptQueue", "QueueItem"]

MAXIMUM_HISTORY_SIZE = 10000


@dataclass(order=True, frozen=True)
class QueueItem:
    """One queued prompt; `sensitive` extra_data keys never reach queue/history listings."""

    number: float
    prompt_id: str
    prompt: dict[str, Any] = field(compare=False)
    extra_data: dict[str, Any] = field(compare=False)
    outputs: list[str] = field(compare=False)
    sensitive: dict[str, Any] = field(compare=False, default_factory=dict)

    def public(self) -> list[Any]:
        """ComfyUI's wire form `[number, prompt_id, prompt, extra_data, outputs]`."""
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


class PromptQueue:
    """Thread-safe pending heap, running set, history and `/free` flags."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self._on_change = on_change
        self._mutex = threading.RLock()
        self._not_empty = threading.Condition(self._mutex)
        self._pending: list[QueueItem] = []
        self._running: dict[int, QueueItem] = {}
        self._task_counter = 0
        self._history: dict[str, dict[str, Any]] = {}
        self._flags: dict[str, Any] = {}

    def put(self, item: QueueItem) -> None:
        """Queue an item (heap order on number, then prompt id)."""
        with self._mutex:
            heapq.heappush(self._pending, item)
            self._not_empty.notify()
        self._on_change()

    def get(self, timeout: float | None = None) -> tuple[QueueItem, int] | None:
        """Take the lowest-numbered item (blocking up to `timeout`); None if none came."""
        with self._not_empty:
            if not self._pending:
                self._not_empty.wait(timeout=timeout)
            if not self._pending:
                return None
            item = heapq.heappop(self._pending)
            task_id = self._task_counter
            self._running[task_id] = item
            self._task_counter += 1
        self._on_change()
        return item, task_id

    def task_done(self, task_id: int, result: dict[str, Any], status: dict[str, Any]) -> None:
        """Move a running item into history with its outputs, meta and status."""
        with self._mutex:
            item = self._running.pop(task_id)
            if len(self._history) >= MAXIMUM_HISTORY_SIZE:
                self._history.pop(next(iter(self._history)))
            self._history[item.prompt_id] = {
                "prompt": item.public(),
                "outputs": {},
                "status": status,
                **result,
            }
        self._on_change()

    def current(self) -> tuple[list[list[Any]], list[list[Any]]]:
        """(running, pending) in wire form; pending sorted in run order."""
        with self._mutex:
            running = [copy.deepcopy(item.public()) for item in self._running.values()]
            pending = [copy.deepcopy(item.public()) for item in sorted(self._pending)]
        return running, pending

    def running_ids(self) -> list[str]:
        """Prompt ids being executed now."""
        with self._mutex:
            return [item.prompt_id for item in self._running.values()]

    def tasks_remaining(self) -> int:
        """Pending plus running items."""
        with self._mutex:
            return len(self._pending) + len(self._running)

    def wipe_queue(self) -> None:
        """Drop every pending item."""
        with self._mutex:
            self._pending = []
        self._on_change()

    def delete_pending(self, prompt_id: str) -> bool:
        """Drop one pending item; True if it was there."""
        with self._mutex:
            kept = [item for item in self._pending if item.prompt_id != prompt_id]
            removed = len(kept) != len(self._pending)
            self._pending = kept
            heapq.heapify(self._pending)
        if removed:
            self._on_change()
        return removed

    def history(
        self, prompt_id: str | None = None, max_items: int | None = None, offset: int = -1
    ) -> dict[str, Any]:
        """ComfyUI's `get_history`: one entry, or a window of `max_items` from `offset`."""
        with self._mutex:
            if prompt_id is not None:
                entry = self._history.get(prompt_id)
                return {} if entry is None else {prompt_id: copy.deepcopy(entry)}
            if offset < 0 and max_items is not None:
                offset = len(self._history) - max_items
            out: dict[str, Any] = {}
            for index, (key, entry) in enumerate(self._history.items()):
                if index < offset:
                    continue
                if max_items is not None and len(out) >= max_items:
                    break
                out[key] = copy.deepcopy(entry)
            return out

    def wipe_history(self) -> None:
        """Forget every history entry."""
        with self._mutex:
            self._history.clear()

    def delete_history(self, prompt_id: str) -> None:
        """Forget one history entry (no error if absent)."""
        with self._mutex:
            self._history.pop(prompt_id, None)

    def set_flag(self, name: str, value: Any) -> None:
        """Set a `/free` flag and wake the worker to act on it."""
        with self._mutex:
            self._flags[name] = value
            self._not_empty.notify()

    def wake(self) -> None:
        """Wake a worker blocked in `get` (used when stopping)."""
        with self._mutex:
            self._not_empty.notify_all()

    def take_flags(self) -> dict[str, Any]:
        """The pending flags, cleared."""
        with self._mutex:
            flags, self._flags = self._flags, {}
            return flags
