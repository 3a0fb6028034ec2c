"""Runs one validated prompt like ComfyUI's `PromptExecutor`, emitting its websocket events.

1. `execution_start`; compute each needed node's cache signature (IS_CHANGED included).
2. `execution_cached` with the needed nodes whose outputs are reused.
3. Run the rest in topological order: `executing`, the node, `executed` when it has a `ui`
   (cached output nodes re-send their `executed`). The interrupt flag is checked before
   every node call and, through `NodeRuntime.check_interrupt`, inside sampler steps.
4. `execution_success`, or `execution_error` / `execution_interrupted` with ComfyUI's fields.

`execute` does it all on the calling thread. `begin` stops before the prompt's host-side
tail (`host_classes`: pixelize, PNG encode, file writes, whose consumers are all host-side
too) and returns a `PendingPrompt` whose `finish()` runs the tail, possibly on another
thread while the next prompt's `begin` uses the device. Each node's `executed` event is
still sent only after the node returned (for SaveImage: once its files exist). The tail
ignores `interrupt()`: it belongs to a prompt whose device work is over, and a cancel of
the next prompt must not cost this one its files.

The caller binds `engine.context.bind_engine_context` around `execute`, `begin` and `finish`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.context import NodeRuntime, bind_node_runtime
from engine.errors import InterruptedByUser
from engine.graph.cache import OutputCache, SignatureBuilder
from engine.graph.events import EventSink
from engine.graph.interface import full_type_name
from engine.graph.node_call import (
    CallContext,
    NodeOutput,
    format_value,
    get_input_data,
    get_output_data,
    map_node_over_list,
)
from engine.graph.plan import execution_order, split_host_tail, upstream_closure
from engine.graph.progress_state import ProgressStates
from engine.graph.registry import NodeRegistry

__all__ = ["ExecutionOutcome", "PendingPrompt", "PromptExecutor"]

logger = logging.getLogger(__name__)

_OOM_TIPS = (
    "This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before "
    "you might have accidentally set the batch_size to a large number."
)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _log_timings(run: _Run, total_s: float) -> None:
    """ComfyUI's "Prompt executed in X seconds", plus where the time went (slowest first)."""
    slowest = sorted(run.timings.items(), key=lambda item: item[1], reverse=True)[:4]
    spent = ", ".join(
        f"{node_id} {run.prompt[node_id]['class_type']} {seconds:.2f} s"
        for node_id, seconds in slowest
    )
    logger.info(
        "Prompt %s executed in %.2f seconds (%s)", run.prompt_id, total_s, spent or "all cached"
    )


@dataclass
class ExecutionOutcome:
    """The result of one prompt, ready for the history entry.

    Attributes:
        success: every node ran (status_str "success").
        outputs: `{node_id: ui dict}` of output nodes (empty on failure, as ComfyUI stores it).
        meta: `{node_id: {node_id, display_node, parent_node, real_node_id}}`.
        messages: `[[event, data], ...]` status messages (start, cached, success/error).
        node_seconds: `{node_id: seconds}` of the nodes that ran (not the cached ones), in
            the order they ran: the engine's share of a job, per stage.
    """

    success: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    messages: list[list[Any]] = field(default_factory=list)
    node_seconds: dict[str, float] = field(default_factory=dict)


class _NodeFailure(Exception):
    """Carries a node's failure out of the run loop together with the node id."""

    def __init__(
        self, node_id: str, cause: BaseException, inputs: dict[str, list[Any]] | None
    ) -> None:
        super().__init__(str(cause))
        self.node_id = node_id
        self.cause = cause
        self.inputs = inputs
        self.tb = traceback.format_tb(cause.__traceback__)


@dataclass
class _Run:
    """State of the prompt being executed."""

    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    client_id: str | None
    outcome: ExecutionOutcome = field(default_factory=ExecutionOutcome)
    outputs: dict[str, list[list[Any]]] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    ui: dict[str, Any] = field(default_factory=dict)
    states: ProgressStates | None = None
    timings: dict[str, float] = field(default_factory=dict)  # node id -> seconds it ran
    keys: dict[str, str] = field(default_factory=dict)  # node id -> cache signature
    tail: list[str] = field(default_factory=list)  # host-side nodes left for `finish`
    done: bool = False  # failed (or nothing left) before the tail
    started: float = 0.0  # perf_counter at execution_start


class PendingPrompt:
    """A prompt whose device work is done; `finish()` runs its host-side tail once."""

    def __init__(self, executor: PromptExecutor, run: _Run) -> None:
        self._executor = executor
        self._run = run
        self._outcome: ExecutionOutcome | None = None

    @property
    def prompt_id(self) -> str:
        """The prompt this belongs to."""
        return self._run.prompt_id

    @property
    def tail(self) -> list[str]:
        """Node ids `finish()` runs (empty when the prompt already failed or had none)."""
        return [] if self._run.done else list(self._run.tail)

    def finish(self) -> ExecutionOutcome:
        """Run the tail (first call only) and return the prompt's outcome; never raises for
        node failures."""
        if self._outcome is None:
            self._outcome = self._executor._finish(self._run)
        return self._outcome


class PromptExecutor:
    """Executes prompts one at a time, keeping ComfyUI's classic cache between them."""

    def __init__(
        self, registry: NodeRegistry, sink: EventSink, host_classes: frozenset[str] = frozenset()
    ) -> None:
        """
        Args:
            registry: The node classes.
            sink: Where events go.
            host_classes: Node classes that use no device (our pixel nodes, SaveImage,
                PreviewImage): `begin` leaves a prompt's tail of them to `finish`.
        """
        self.registry = registry
        self.sink = sink
        self.host_classes = host_classes
        self.cache = OutputCache()
        self._instances: dict[tuple[str, str], Any] = {}
        self._interrupt = threading.Event()
        # Cache and instances are shared by a prompt's tail and the next prompt's head.
        self._lock = threading.RLock()
        self._live: dict[str, set[str]] = {}  # prompt id -> cache keys of a run in flight
        self.current_node: str | None = None

    # -- control -------------------------------------------------------------------------
    def interrupt(self) -> None:
        """Ask the running prompt to stop at the next node or sampler step."""
        self._interrupt.set()

    def is_interrupted(self) -> bool:
        """Whether an interrupt is pending for the running prompt."""
        return self._interrupt.is_set()

    def reset_cache(self) -> None:
        """Forget cached outputs and node instances (`/free` with free_memory)."""
        with self._lock:
            self.cache.clear()
            self._instances.clear()

    def _check_interrupt(self) -> None:
        if self._interrupt.is_set():
            raise InterruptedByUser("Processing interrupted")

    # -- events ----------------------------------------------------------------------------
    def _message(self, run: _Run, event: str, data: dict[str, Any], broadcast: bool) -> None:
        payload = {**data, "timestamp": _now_ms()}
        run.outcome.messages.append([event, payload])
        if run.client_id is not None or broadcast:
            self.sink.send(event, payload, run.client_id)

    def _to_client(self, run: _Run, event: str, data: dict[str, Any]) -> None:
        if run.client_id is not None:
            self.sink.send(event, data, run.client_id)

    # -- execution -------------------------------------------------------------------------
    def execute(
        self,
        prompt: dict[str, Any],
        prompt_id: str,
        extra_data: dict[str, Any],
        outputs: Sequence[str],
    ) -> ExecutionOutcome:
        """Run `outputs` of a validated prompt; never raises for node failures."""
        return self.begin(prompt, prompt_id, extra_data, outputs).finish()

    def begin(
        self,
        prompt: dict[str, Any],
        prompt_id: str,
        extra_data: dict[str, Any],
        outputs: Sequence[str],
    ) -> PendingPrompt:
        """Run a validated prompt up to its host-side tail; never raises for node failures.

        Returns:
            The pending prompt: call `finish()` (on any thread) for the tail and outcome.
        """
        import torch  # heavy: the engine needs it anyway, but not at import time

        self._interrupt.clear()
        run = _Run(prompt_id, prompt, extra_data, extra_data.get("client_id"))
        run.states = ProgressStates(self.sink, prompt_id, run.client_id)
        self._message(run, "execution_start", {"prompt_id": prompt_id}, broadcast=False)
        run.started = time.perf_counter()
        try:
            with torch.inference_mode():
                self._run_head(run, list(outputs))
        except BaseException:  # the executor itself broke: never pin this run's cache keys
            with self._lock:
                self._live.pop(prompt_id, None)
            raise
        finally:
            self.current_node = None
        return PendingPrompt(self, run)

    def _finish(self, run: _Run) -> ExecutionOutcome:
        import torch

        if not run.done:
            try:
                with torch.inference_mode():
                    for node_id in run.tail:
                        self._visit(run, node_id, run.keys[node_id], in_tail=True)
            except _NodeFailure as failure:
                self._fail(run, failure)
            else:
                self._succeed(run)
            finally:
                self._release(run)
        _log_timings(run, time.perf_counter() - run.started)
        run.outcome.node_seconds = dict(run.timings)
        return run.outcome

    def _is_changed(self, run: _Run, node_id: str) -> Any:
        node = run.prompt[node_id]
        node_class = self.registry.classes[node["class_type"]]
        data = get_input_data(
            node["inputs"], node_class, node_id, None, CallContext(run.prompt, run.extra_data)
        )
        try:
            return map_node_over_list(node_class, data, "IS_CHANGED")
        except Exception:  # ComfyUI treats a failing IS_CHANGED as "always changed"
            logger.debug("IS_CHANGED of node %s raised; re-running it", node_id, exc_info=True)
            return float("nan")

    def _run_head(self, run: _Run, outputs: list[str]) -> None:
        needed = upstream_closure(run.prompt, outputs)
        signatures = SignatureBuilder(run.prompt, self.registry, lambda n: self._is_changed(run, n))
        try:
            run.keys = {node_id: signatures.key(node_id) for node_id in needed}
        except Exception as ex:  # a node's IS_CHANGED/INPUT_TYPES failed before anything ran
            self._fail(run, _NodeFailure(needed[0], ex, None))
            run.done = True
            return
        with self._lock:
            self._drop_stale_instances(run.prompt)
            self._live[run.prompt_id] = set(run.keys.values())
            # In the prompt's own node order, as ComfyUI lists them.
            run.cached = [
                n for n in run.prompt if n in run.keys and self.cache.get(run.keys[n]) is not None
            ]
        self._message(
            run, "execution_cached", {"nodes": run.cached, "prompt_id": run.prompt_id}, False
        )
        order = execution_order(run.prompt, outputs, lambda n: n in run.cached)
        host = self.host_classes
        head, run.tail = split_host_tail(
            run.prompt, order, lambda n: run.prompt[n]["class_type"] in host
        )
        try:
            for node_id in head:
                self._visit(run, node_id, run.keys[node_id])
        except _NodeFailure as failure:
            self._fail(run, failure)
            self._release(run)
            run.done = True

    def _succeed(self, run: _Run) -> None:
        run.outcome.success = True
        run.outcome.outputs = dict(run.ui)
        run.outcome.meta = {n: _meta(n) for n in run.ui}
        self._message(run, "execution_success", {"prompt_id": run.prompt_id}, broadcast=False)

    def _release(self, run: _Run) -> None:
        """Keep only the cache entries of this prompt and of the prompts still in flight."""
        with self._lock:
            self._live.pop(run.prompt_id, None)
            keep = set(run.keys.values()).union(*self._live.values())
            self.cache.keep_only(keep)

    def _drop_stale_instances(self, prompt: dict[str, Any]) -> None:  # under self._lock
        for node_id, class_type in list(self._instances):
            if prompt.get(node_id, {}).get("class_type") != class_type:
                del self._instances[(node_id, class_type)]

    def _visit(self, run: _Run, node_id: str, key: str, in_tail: bool = False) -> None:
        # A tail node looks again: the previous prompt's tail may have run it meanwhile.
        with self._lock:
            cached = self.cache.get(key) if in_tail or node_id in run.cached else None
        assert run.states is not None
        if cached is not None:
            run.outputs[node_id] = cached.outputs
            if cached.ui:
                run.ui[node_id] = cached.ui
            # ComfyUI only revisits cached *output* nodes: it re-sends their `executed`
            # (`output: null` when they had no ui) and marks them finished.
            if self._is_output_node(run, node_id):
                self._executed_event(run, node_id, cached.ui or None)
                run.states.finish(node_id)
            return
        run.states.start(node_id)
        started = time.perf_counter()
        output = self._execute_node(run, node_id, interruptible=not in_tail)
        run.timings[node_id] = time.perf_counter() - started
        with self._lock:
            self.cache.put(key, output)
        run.outputs[node_id] = output.outputs
        run.executed.append(node_id)
        if output.ui:
            run.ui[node_id] = output.ui
            self._executed_event(run, node_id, output.ui)
        # After `executed`, as ComfyUI 0.3.64 orders them.
        run.states.finish(node_id)

    def _is_output_node(self, run: _Run, node_id: str) -> bool:
        node_class = self.registry.classes[run.prompt[node_id]["class_type"]]
        return getattr(node_class, "OUTPUT_NODE", False) is True

    def _executed_event(self, run: _Run, node_id: str, ui: dict[str, Any] | None) -> None:
        data = {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": run.prompt_id}
        self._to_client(run, "executed", data)

    def _execute_node(self, run: _Run, node_id: str, interruptible: bool = True) -> NodeOutput:
        node = run.prompt[node_id]
        class_type = node["class_type"]
        node_class = self.registry.classes[class_type]
        inputs: dict[str, list[Any]] | None = None
        check = self._check_interrupt if interruptible else _never_interrupted
        try:
            check()
            ctx = CallContext(run.prompt, run.extra_data)
            inputs = get_input_data(node["inputs"], node_class, node_id, run.outputs, ctx)
            if interruptible:  # the device's node, which a reconnecting client is told
                self.current_node = node_id
            self._to_client(
                run,
                "executing",
                {"node": node_id, "display_node": node_id, "prompt_id": run.prompt_id},
            )
            with self._lock:
                instance = self._instances.get((node_id, class_type))
                if instance is None:
                    instance = self._instances[(node_id, class_type)] = node_class()
            with bind_node_runtime(self._runtime(run, node_id, interruptible)):
                return get_output_data(instance, inputs, check)
        except Exception as ex:  # any node failure becomes ComfyUI's execution_error
            raise _NodeFailure(node_id, ex, inputs) from ex

    def _runtime(self, run: _Run, node_id: str, interruptible: bool) -> NodeRuntime:
        return NodeRuntime(
            prompt_id=run.prompt_id,
            node_id=node_id,
            report_progress=self._progress_reporter(run, node_id),
            is_interrupted=self._interrupt.is_set if interruptible else lambda: False,
        )

    def _progress_reporter(
        self, run: _Run, node_id: str
    ) -> Callable[[int, int, bytes | None], None]:
        def report(value: int, total: int, preview_png: bytes | None) -> None:
            """Send the preview frame (if any), `progress` and the node's new state."""
            if preview_png is not None:
                metadata = {
                    "node_id": node_id,
                    "prompt_id": run.prompt_id,
                    "display_node_id": node_id,
                    "parent_node_id": None,
                    "real_node_id": node_id,
                    "image_type": "image/png",
                }
                self.sink.send_preview(preview_png, "image/png", metadata, run.client_id)
            data = {"value": value, "max": total, "prompt_id": run.prompt_id, "node": node_id}
            self.sink.send("progress", data, run.client_id)
            if run.states is not None:
                run.states.update(node_id, value, total)

        return report

    def _fail(self, run: _Run, failure: _NodeFailure) -> None:
        node_type = run.prompt[failure.node_id]["class_type"]
        # No `progress_state` "error" here: ComfyUI 0.3.64 sends none on failure/interrupt.
        base = {
            "prompt_id": run.prompt_id,
            "node_id": failure.node_id,
            "node_type": node_type,
            "executed": list(run.executed),
        }
        if _was_interrupted(failure.cause):
            logger.info(
                "Processing interrupted (prompt %s, node %s)", run.prompt_id, failure.node_id
            )
            self._message(run, "execution_interrupted", base, broadcast=True)
            return
        # ComfyUI formats it as "{ex}\n{tips}", so the message always ends in a newline.
        message = f"{failure.cause}\n{_OOM_TIPS if _is_oom(failure.cause) else ''}"
        logger.error(
            "!!! Exception during processing !!! prompt %s node %s (%s): %s",
            run.prompt_id,
            failure.node_id,
            node_type,
            "".join(traceback.format_exception(failure.cause)),
        )
        inputs = failure.inputs or {}
        details = {
            **base,
            "exception_message": message,
            "exception_type": full_type_name(type(failure.cause)),
            "traceback": failure.tb,
            "current_inputs": {
                k: [format_value(v) for v in values] for k, values in inputs.items()
            },
            "current_outputs": list(run.outputs),
        }
        self._message(run, "execution_error", details, broadcast=False)


def _never_interrupted() -> None:
    """The interrupt check of a tail node: the tail always completes."""


def _meta(node_id: str) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "display_node": node_id,
        "parent_node": None,
        "real_node_id": node_id,
    }


def _was_interrupted(ex: BaseException) -> bool:
    """True for an interrupt, also when a node wrapped it in its own error (`raise ... from`)."""
    seen: set[int] = set()
    current: BaseException | None = ex
    while current is not None and id(current) not in seen:
        if isinstance(current, InterruptedByUser):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _is_oom(ex: BaseException) -> bool:
    torch = sys.modules.get("torch")
    oom = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    return oom is not None and isinstance(ex, oom)
