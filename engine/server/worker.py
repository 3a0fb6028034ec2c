"""The one worker thread that executes queued prompts (GPU work stays off the event loop).

Per item (ComfyUI's `main.prompt_worker`): execute inside the engine context, write the
history entry, and only then send the final `executing {node: null}`. Between items it acts
on `/free` flags (unload models, reset the output cache).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.context import EngineContext, bind_engine_context
from engine.graph.events import EventSink
from engine.graph.executor import PromptExecutor
from engine.server.queue import PromptQueue, QueueItem
from engine.server.timings import PromptTimings

if TYPE_CHECKING:
    from engine.server.metrics import EngineMetrics, PromptStatus

__all__ = ["PromptWorker"]

logger = logging.getLogger(__name__)


def _status_of(status: Mapping[str, Any]) -> PromptStatus:
    """A history status as a metrics outcome: success, interrupted or error."""
    if status.get("completed"):
        return "success"
    kinds = {m[0] for m in status.get("messages", []) if isinstance(m, list | tuple) and m}
    return "interrupted" if "execution_interrupted" in kinds else "error"


class PromptWorker:
    """Pulls prompts from the queue and runs them one at a time on its own thread."""

    def __init__(
        self,
        queue: PromptQueue,
        executor: PromptExecutor,
        sink: EventSink,
        context: EngineContext,
        unload_models: Callable[[], None],
        timings: PromptTimings | None = None,
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.queue = queue
        self.metrics = metrics
        self.timings = timings if timings is not None else PromptTimings()
        self.executor = executor
        self.sink = sink
        self.context = context
        self.unload_models = unload_models
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dgxp-engine-worker", daemon=True)

    def start(self) -> None:
        """Start the worker thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current prompt (which is interrupted)."""
        self._stop.set()
        self.executor.interrupt()
        self.queue.wake()
        self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            got = self.queue.get(timeout=0.5)
            if self._stop.is_set():
                break
            if got is not None:
                try:
                    self._run_item(*got)
                except Exception:  # outer edge of the worker: log and keep serving
                    logger.exception("worker failed on prompt %s", got[0].prompt_id)
            self._apply_flags()

    def _run_item(self, item: QueueItem, task_id: int) -> None:
        extra_data = {**item.extra_data, **item.sensitive}
        logger.info("executing prompt %s", item.prompt_id)
        self._reset_peak_vram()
        started_at = time.time()
        node_seconds: dict[str, float] = {}
        try:
            with bind_engine_context(self.context):
                outcome = self.executor.execute(
                    item.prompt, item.prompt_id, extra_data, item.outputs
                )
            status = {
                "status_str": "success" if outcome.success else "error",
                "completed": outcome.success,
                "messages": outcome.messages,
            }
            result = {"outputs": outcome.outputs, "meta": outcome.meta}
            node_seconds = outcome.node_seconds
        except Exception as ex:  # the executor itself broke: record it, never lose the item
            logger.exception("prompt %s crashed the executor", item.prompt_id)
            status = {
                "status_str": "error",
                "completed": False,
                "messages": [
                    ["execution_error", {"prompt_id": item.prompt_id, "exception_message": str(ex)}]
                ],
            }
            result = {"outputs": {}, "meta": {}}
        executed_at = time.time()
        if self.metrics is not None:
            self.metrics.prompt_done(
                _status_of(status), executed_at - started_at, self._peak_vram()
            )
            for node_id, seconds in node_seconds.items():  # validated: a registered class
                self.metrics.node_done(str(item.prompt[node_id]["class_type"]), seconds)
        # Before the history entry: whoever sees the entry can read the timings too.
        self.timings.finished(
            item.prompt_id, item.prompt, started_at, executed_at, node_seconds, time.time()
        )
        self.queue.task_done(task_id, result, status)
        client_id = item.extra_data.get("client_id")
        if client_id is not None:
            self.sink.send("executing", {"node": None, "prompt_id": item.prompt_id}, client_id)

    def _reset_peak_vram(self) -> None:
        if self.metrics is not None and self.context.device == "cuda":
            import torch  # the engine has loaded it already

            torch.cuda.reset_peak_memory_stats()

    def _peak_vram(self) -> int | None:
        if self.metrics is None or self.context.device != "cuda":
            return None
        import torch

        return int(torch.cuda.max_memory_allocated())

    def _apply_flags(self) -> None:
        flags = self.queue.take_flags()
        free_memory = bool(flags.get("free_memory", False))
        if free_memory:
            # First: cached MODEL/CLIP/VAE outputs hold the weights, so unloading the models
            # before dropping them would free nothing (seen on CUDA: memory stayed allocated).
            self.executor.reset_cache()
            gc.collect()
        if flags.get("unload_models", free_memory):
            logger.info("unloading models (/free)")
            self.unload_models()
            gc.collect()
