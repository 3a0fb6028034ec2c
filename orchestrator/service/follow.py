"""Follow one prompt on one backend until it is done, cancelled, lost or unreachable.

The service's own wait loop (rather than `orchestrator.comfy.run_prompt`) because a worker
must stop promptly when the job is cancelled, and must give up on a dead backend after a few
reconnects so the job can move to a live one; `run_prompt` reconnects until its deadline.
The completion rule is the same one (`orchestrator.comfy.completion`): `executing` with
`node=None` for our prompt id, then `/history`. Quiet periods are checked against
`/history` and `/queue`: a prompt in neither was lost by the backend (it restarted), so
the job is resubmitted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.completion import final_history, is_done, is_prompt_event
from orchestrator.comfy.errors import BackendUnreachable, EventStreamClosed
from orchestrator.comfy.events import (
    ComfyEvent,
    ExecutedEvent,
    ExecutingEvent,
    ExecutionErrorEvent,
    ExecutionInterruptedEvent,
    ExecutionStartEvent,
    PreviewFrame,
    ProgressEvent,
)
from orchestrator.comfy.models import HistoryEntry
from orchestrator.comfy.ws import EventStream

__all__ = [
    "FollowHooks",
    "PromptCancelled",
    "PromptDetached",
    "PromptLost",
    "PromptTimedOut",
    "follow_prompt",
    "lost_or_done",
]

logger = logging.getLogger(__name__)

POLL_S = 0.1  # cancel latency bound
QUIET_CHECK_S = 2.0  # ask /history after this long without an event
RECONNECTS = 3


class PromptLost(Exception):
    """The backend no longer knows the prompt (restarted): resubmit it."""


class PromptCancelled(Exception):
    """The job was cancelled while we followed it."""


class PromptDetached(Exception):
    """The service is stopping: leave the prompt running, re-attach on the next start."""


class PromptTimedOut(Exception):
    """The job ran past its deadline."""


@dataclass(frozen=True)
class FollowHooks:
    """What the follower reports back to the worker (called on the worker's thread)."""

    started: Callable[[], None]
    progress: Callable[[int, int], None]
    preview: Callable[[bytes, str], None]
    cancelled: Callable[[], bool]
    detach: Callable[[], bool]


def _reconnect(stream: EventStream) -> None:
    delay = 0.2
    for attempt in range(1, RECONNECTS + 1):
        try:
            stream.reconnect()
            return
        except BackendUnreachable:
            if attempt == RECONNECTS:
                raise
            time.sleep(delay)
            delay *= 2


def lost_or_done(client: ComfyClient, prompt_id: str) -> HistoryEntry | None:
    """History entry if done; None if still queued/running; raises PromptLost if neither."""
    entry = client.history(prompt_id)
    if entry is not None:
        return entry
    queue = client.queue()
    if prompt_id in queue.running or prompt_id in queue.pending:
        return None
    entry = client.history(prompt_id)  # it may have finished between the two calls
    if entry is None:
        raise PromptLost(f"{client.base_url} has prompt {prompt_id} neither queued nor in history")
    return entry


class _Follower:
    def __init__(
        self, client: ComfyClient, stream: EventStream, prompt_id: str, hooks: FollowHooks
    ) -> None:
        self.client = client
        self.stream = stream
        self.prompt_id = prompt_id
        self.hooks = hooks
        self.started = False
        # Outputs as `executed` events reported them; trusted only for a clean run we saw
        # from start to end (no error, no reconnect), which saves the /history round trip.
        self.outputs: dict[str, dict[str, Any]] = {}
        self.clean = True

    def handle(self, event: ComfyEvent) -> HistoryEntry | None:
        if not is_prompt_event(event, self.prompt_id, self.started):
            return None
        if isinstance(event, PreviewFrame):
            if self.started:
                self.hooks.preview(event.image, event.image_type)
            return None
        if not self.started and isinstance(event, ExecutionStartEvent | ExecutingEvent):
            self.started = True
            self.hooks.started()
        if isinstance(event, ProgressEvent):
            self.hooks.progress(event.value, event.max)
        elif isinstance(event, ExecutedEvent):
            self.outputs[event.node] = event.output
        elif isinstance(event, ExecutionErrorEvent | ExecutionInterruptedEvent):
            self.clean = False
        if is_done(event):
            if self.clean and self.started:
                return HistoryEntry(self.prompt_id, self.outputs, "success", True, [])
            return final_history(self.client, self.prompt_id)
        return None

    def run(self, deadline: float) -> HistoryEntry:
        last_event = time.monotonic()
        while True:
            if self.hooks.cancelled():
                raise PromptCancelled(self.prompt_id)
            if self.hooks.detach():
                raise PromptDetached(self.prompt_id)
            now = time.monotonic()
            if now > deadline:
                raise PromptTimedOut(self.prompt_id)
            try:
                event = self.stream.receive(timeout=POLL_S)
            except EventStreamClosed:
                logger.warning("prompt %s: event stream dropped; reconnecting", self.prompt_id)
                _reconnect(self.stream)
                self.clean = False  # events may have been missed: history decides
                event, last_event = None, 0.0  # reconcile through history right away
            if event is not None:
                last_event = time.monotonic()
                entry = self.handle(event)
            elif time.monotonic() - last_event >= QUIET_CHECK_S:
                last_event = time.monotonic()
                entry = lost_or_done(self.client, self.prompt_id)
            else:
                entry = None
            if entry is not None:
                return entry


def follow_prompt(
    client: ComfyClient,
    stream: EventStream,
    prompt_id: str,
    hooks: FollowHooks,
    deadline: float,
) -> HistoryEntry:
    """Wait for `prompt_id` on a connected `stream`; return its history entry.

    Raises:
        PromptCancelled: `hooks.cancelled()` turned true.
        PromptDetached: `hooks.detach()` turned true (service stopping).
        PromptTimedOut: `deadline` (monotonic) passed.
        PromptLost: The backend has it neither queued nor in history.
        BackendUnreachable: The backend went away (reconnects failed).
        BackendProtocolError: The backend answered garbage.
    """
    return _Follower(client, stream, prompt_id, hooks).run(deadline)
