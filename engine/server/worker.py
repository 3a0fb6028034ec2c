"""The worker threads that execute queued prompts (GPU work stays off the event loop).

Per item (ComfyUI's `main.prompt_worker`): execute inside the engine context, write the
history entry, and only then send the final `executing {node: null}`. Between items it acts
on `/free` flags (unload models, reset the output cache).

Two threads share the work so the device never waits on PNG encoding or file writes: the
device thread runs a prompt up to its host-side tail (`PromptExecutor.begin`) and hands it
to the finisher thread, which runs the tail (pixelize, SaveImage), writes the history
entry and sends the final event, while the device thread starts the next prompt. The
finisher takes prompts in order, so histories and final events keep the queue's order, and
at most one finished-on-device prompt waits for it (memory stays bounded).
"""

from __future__ import annotations

import gc
import logging
import queue as queue_module
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.context import EngineContext, bind_engine_context
from engine.graph.events import EventSink
from engine.graph.executor import ExecutionOutcome, PendingPrompt, PromptExecutor
from engine.server.queue import PromptQueue, QueueItem
from engine.server.timings import PromptTimings

if TYPE_CHECKING:
    from engine.server.metrics import EngineMetrics, PromptStatus

__all__ = ["PromptWorker"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Handoff:
    """A prompt whose device work is over, on its way to the finisher thread."""

    item: QueueItem
    task_id: int
    started_at: float  # epoch seconds: the device thread took it
    released_at: float  # epoch seconds: the device thread was done with it
    peak_vram: int | None
    pending: PendingPrompt | Exception  # the executor's crash, recorded as the outcome


def _status(outcome: ExecutionOutcome) -> dict[str, Any]:
    return {
        "status_str": "success" if outcome.success else "error",
        "completed": outcome.success,
        "messages": outcome.messages,
    }


def _result(outcome: ExecutionOutcome) -> dict[str, Any]:
    return {"outputs": outcome.outputs, "meta": outcome.meta}


def _empty_result() -> dict[str, Any]:
    return {"outputs": {}, "meta": {}}


def _crash_status(prompt_id: str, ex: Exception) -> dict[str, Any]:
    return {
        "status_str": "error",
        "completed": False,
        "messages": [["execution_error", {"prompt_id": prompt_id, "exception_message": str(ex)}]],
    }


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
        # (item, task id, began at, device released at, the pending prompt or the crash);
        # None stops the finisher.
        self._handoff: queue_module.Queue[_Handoff | None] = queue_module.Queue(maxsize=1)
        self._finisher = threading.Thread(
            target=self._finish_loop, name="dgxp-engine-finisher", daemon=True
        )

    def start(self) -> None:
        """Start the device and finisher threads."""
        self._finisher.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current prompt (which is interrupted); a prompt whose device work
        is done still gets its files and history."""
        self._stop.set()
        self.executor.interrupt()
        self.queue.wake()
        self._thread.join(timeout=timeout)
        if self._finisher.is_alive():
            try:
                self._handoff.put(None, timeout=timeout)
            except queue_module.Full:
                logger.warning("the finisher is still busy after %.0f s; not waiting", timeout)
            self._finisher.join(timeout=timeout)

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
        """The device part of one prompt, then hand it to the finisher (waits while the
        finisher still holds the previous one)."""
        extra_data = {**item.extra_data, **item.sensitive}
        logger.info("executing prompt %s", item.prompt_id)
        self._reset_peak_vram()
        started_at = time.time()
        pending: PendingPrompt | Exception
        try:
            with bind_engine_context(self.context):
                pending = self.executor.begin(item.prompt, item.prompt_id, extra_data, item.outputs)
        except Exception as ex:  # the executor itself broke: record it, never lose the item
            logger.exception("prompt %s crashed the executor", item.prompt_id)
            pending = ex
        peak = self._peak_vram()
        self._handoff.put(_Handoff(item, task_id, started_at, time.time(), peak, pending))

    def _finish_loop(self) -> None:
        while (handoff := self._handoff.get()) is not None:
            try:
                self._finish_item(handoff)
            except Exception:  # outer edge of the finisher: log and keep serving
                logger.exception("finisher failed on prompt %s", handoff.item.prompt_id)
            finally:
                self._handoff.task_done()

    def _finish_item(self, handoff: _Handoff) -> None:
        """The host-side tail, timings, metrics, history entry, then the final event."""
        item = handoff.item
        node_seconds: dict[str, float] = {}
        if isinstance(handoff.pending, Exception):
            status, result = _crash_status(item.prompt_id, handoff.pending), _empty_result()
        else:
            try:
                with bind_engine_context(self.context):
                    outcome = handoff.pending.finish()
                status, result = _status(outcome), _result(outcome)
                node_seconds = outcome.node_seconds
            except Exception as ex:  # the executor itself broke: record it, never lose it
                logger.exception("prompt %s crashed the executor's tail", item.prompt_id)
                status, result = _crash_status(item.prompt_id, ex), _empty_result()
        executed_at = time.time()
        if self.metrics is not None:
            self.metrics.prompt_done(
                _status_of(status), executed_at - handoff.started_at, handoff.peak_vram
            )
            for node_id, seconds in node_seconds.items():  # validated: a registered class
                self.metrics.node_done(str(item.prompt[node_id]["class_type"]), seconds)
        # Before the history entry: whoever sees the entry can read the timings too.
        self.timings.finished(
            item.prompt_id,
            item.prompt,
            handoff.started_at,
            executed_at,
            node_seconds,
            time.time(),
            released_at=handoff.released_at,
        )
        self.queue.task_done(handoff.task_id, result, status)
        client_id = item.extra_data.get("client_id")
        if client_id is not None:
            self.sink.send("executing", {"node": None, "prompt_id": item.prompt_id}, client_id)

    def _reset_peak_vram(self) -> None:
        if self.metrics is not None and self.context.device == "cuda":
            import torch  # the engine has loaded it already

            torch.cuda.reset_peak_memory_stats()

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until no prompt is waiting for or held by the finisher (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._handoff.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._handoff.unfinished_tasks

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
