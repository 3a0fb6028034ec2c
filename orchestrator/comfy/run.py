"""Submit a graph and wait for it the way ComfyUI requires, surviving WebSocket drops.

Completion rule (see the API spec): `execution_success` arrives before history is written;
the reliable "done" is `executing` with `node=None` for our prompt id, after which
`/history/{id}` holds the outputs. If the socket drops, we reconnect with the same client id
and reconcile through `/history`: an entry there means the prompt finished while we were
away; no entry means it is still queued or running, so we keep listening; in neither
history nor `/queue` means the backend restarted and forgot it (`PromptLost`). Quiet
periods are checked the same way, so a lost final event never hangs a job.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.completion import final_history, is_done, is_prompt_event
from orchestrator.comfy.errors import (
    BackendUnreachable,
    EventStreamClosed,
    ExecutionFailed,
    Interrupted,
    PromptLost,
    Timeout,
)
from orchestrator.comfy.events import (
    ComfyEvent,
    ExecutingEvent,
    ExecutionErrorEvent,
    ExecutionInterruptedEvent,
    ExecutionStartEvent,
)
from orchestrator.comfy.models import HistoryEntry, OutputImage, PromptResult
from orchestrator.comfy.ws import EventStream

__all__ = ["fetch_outputs", "run_prompt"]

logger = logging.getLogger(__name__)

EventCallback = Callable[[ComfyEvent], None]

# After an error/interrupt event, the final `executing null` should follow at once.
_TERMINAL_POLL_S = 0.25


@dataclass(frozen=True)
class _Limits:
    """How long to wait, and how often to double-check `/history` while it is quiet."""

    timeout: float
    deadline: float
    reconnect_timeout: float
    poll_interval: float


class _PromptWatch:
    """Event-loop state for one prompt: which events are ours, when it is done."""

    def __init__(
        self,
        client: ComfyClient,
        stream: EventStream,
        prompt_id: str,
        on_event: EventCallback | None,
        limits: _Limits,
    ) -> None:
        self.client = client
        self.stream = stream
        self.prompt_id = prompt_id
        self.on_event = on_event
        self.limits = limits
        self.started = False
        self.failure: ComfyEvent | None = None
        self.reconnects = 0

    def _remaining(self) -> float:
        remaining = self.limits.deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout(self.prompt_id, self.limits.timeout, self.client.base_url)
        return remaining

    def wait(self) -> HistoryEntry:
        """Loop over events until the prompt is done; return its history entry."""
        while True:
            poll = _TERMINAL_POLL_S if self.failure else self.limits.poll_interval
            try:
                event = self.stream.receive(timeout=min(self._remaining(), poll))
            except EventStreamClosed as exc:
                logger.warning("prompt %s: %s; reconnecting", self.prompt_id, exc)
                entry = self._reconnect_and_reconcile()
            else:
                entry = self._handle(event)
            if entry is not None:
                return entry

    def _reconcile(self) -> HistoryEntry | None:
        """History's entry if done; None if still queued/running; `PromptLost` otherwise."""
        # Queue first, then history: a prompt finishing in between is then found in history.
        queue = self.client.queue()
        entry = self.client.history(self.prompt_id)
        if entry is None and self.prompt_id not in (*queue.running, *queue.pending):
            raise PromptLost(self.prompt_id, self.client.base_url)
        return entry

    def _handle(self, event: ComfyEvent | None) -> HistoryEntry | None:
        if event is None:
            return self._reconcile()
        if not is_prompt_event(event, self.prompt_id, self.started):
            return None
        if isinstance(event, ExecutionStartEvent | ExecutingEvent):
            self.started = True
        if isinstance(event, ExecutionErrorEvent | ExecutionInterruptedEvent):
            self.failure = event
        if self.on_event is not None:
            self.on_event(event)
        if is_done(event):
            return final_history(self.client, self.prompt_id)
        return None

    def _reconnect_and_reconcile(self) -> HistoryEntry | None:
        delay = 0.1
        give_up = time.monotonic() + self.limits.reconnect_timeout
        while True:
            try:
                self.stream.reconnect()
                break
            except BackendUnreachable as exc:
                if time.monotonic() >= give_up:
                    raise BackendUnreachable(
                        f"lost {self.client.base_url} while prompt {self.prompt_id} ran and "
                        f"could not reconnect within {self.limits.reconnect_timeout:g} s; its "
                        "result may still appear in /history once the backend is back",
                        exc.url,
                    ) from exc
                time.sleep(min(delay, self._remaining()))
                delay = min(delay * 2, 2.0)
        self.reconnects += 1
        # Reconnect first, then ask history: an entry finished while we were away; without
        # one, every later event reaches the new socket, so nothing falls in between.
        return self._reconcile()


def _raise_on_failure(entry: HistoryEntry, failure: ComfyEvent | None) -> None:
    if entry.succeeded:
        return
    if isinstance(failure, ExecutionInterruptedEvent) or entry.message("execution_interrupted"):
        data = entry.message("execution_interrupted") or {}
        raise Interrupted(entry.prompt_id, data)
    data = entry.message("execution_error") or {}
    if isinstance(failure, ExecutionErrorEvent):
        data = failure.model_dump(exclude={"type"})
    raise ExecutionFailed(entry.prompt_id, data)


def run_prompt(
    client: ComfyClient,
    graph: dict[str, Any],
    *,
    client_id: str | None = None,
    on_event: EventCallback | None = None,
    timeout: float = 1800.0,
    extra_data: dict[str, Any] | None = None,
    prompt_id: str | None = None,
    front: bool = False,
    stream: EventStream | None = None,
    reconnect_timeout: float = 30.0,
    poll_interval: float = 5.0,
) -> PromptResult:
    """Run one graph to the end and return its outputs.

    Args:
        client: the backend's HTTP client.
        graph: API-format graph.
        client_id: WebSocket client id (default: a fresh uuid).
        on_event: called with every event of this prompt, in order (same thread).
        timeout: seconds until `Timeout` (the prompt may still run on the backend).
        extra_data: passed to POST /prompt (`extra_pnginfo.workflow` lands in the PNGs).
        prompt_id: our own prompt id (lets a restarted caller reconcile by id).
        front: jump the backend's queue.
        stream: an already connected stream to reuse (it is left open); default: one of
            our own, closed on return.
        reconnect_timeout: seconds to keep trying to re-open a dropped stream before
            giving up with `BackendUnreachable`.
        poll_interval: after this many quiet seconds, check `/queue` and `/history` (a
            lost final event, or a prompt the backend forgot).

    Raises:
        PromptRejected: the graph failed the backend's validation; nothing ran.
        ExecutionFailed: a node raised.
        Interrupted: the prompt was interrupted.
        PromptLost: the backend restarted and forgot the prompt; submit it again.
        Timeout: it did not finish within `timeout`.
        BackendUnreachable: the backend could not be reached to submit, or went away
            while the prompt ran and did not come back within `reconnect_timeout`.
    """
    # 1. Connect the event stream first: events only reach a socket open under our id.
    limits = _Limits(timeout, time.monotonic() + timeout, reconnect_timeout, poll_interval)
    owned = stream is None
    if stream is None:
        stream = EventStream(client.base_url, client_id or uuid.uuid4().hex)
    try:
        if not stream.connected:
            stream.connect()
        # 2. Submit under the stream's client id.
        submitted = client.submit(
            graph, stream.client_id, extra_data=extra_data, front=front, prompt_id=prompt_id
        )
        # 3. Follow this prompt's events until `executing null` (or history says done).
        watch = _PromptWatch(client, stream, submitted.prompt_id, on_event, limits)
        entry = watch.wait()
    finally:
        if owned:
            stream.close()
    # 4. Turn the history entry into a result, or raise what went wrong.
    _raise_on_failure(entry, watch.failure)
    return PromptResult(
        prompt_id=entry.prompt_id,
        outputs=entry.outputs,
        status=entry.status_str,
        messages=entry.messages,
        reconnects=watch.reconnects,
    )


def fetch_outputs(client: ComfyClient, result: PromptResult) -> list[OutputImage]:
    """Download every image a finished prompt reported, through `/view`."""
    images: list[OutputImage] = []
    for node_id, ref in result.images():
        filename = str(ref.get("filename", ""))
        subfolder = str(ref.get("subfolder", ""))
        kind = str(ref.get("type", "output"))
        data = client.view(filename, subfolder=subfolder, type=kind)
        images.append(OutputImage(node_id, filename, subfolder, kind, data))
    return images
