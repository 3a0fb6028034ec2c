"""The completion rule for one prompt, shared by `run_prompt` and the service's follower.

ComfyUI broadcasts every prompt's events to the socket of the client that submitted it,
so a waiter first keeps the events of its own prompt id (binary previews carry no id in
the classic protocol: they count once our prompt has started). The prompt is done at
`executing` with `node=None`; `/history` is written just before that event, and a short
grace covers lenient backends that write it just after. Recovery (reconnects, a backend
that forgot the prompt) stays with each waiter: their rules differ on purpose.
"""

from __future__ import annotations

import time

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.errors import BackendProtocolError
from orchestrator.comfy.events import ComfyEvent, ExecutingEvent, PreviewFrame, ProgressTextFrame
from orchestrator.comfy.models import HistoryEntry

__all__ = ["HISTORY_GRACE_S", "final_history", "is_done", "is_prompt_event"]

HISTORY_GRACE_S = 2.0
_HISTORY_POLL_S = 0.02


def is_prompt_event(event: ComfyEvent, prompt_id: str, started: bool) -> bool:
    """True when `event` belongs to `prompt_id` (id-less frames: once it has `started`)."""
    if isinstance(event, PreviewFrame | ProgressTextFrame) and event.prompt_id is None:
        return started
    return event.prompt_id == prompt_id


def is_done(event: ComfyEvent) -> bool:
    """True for the final event of a prompt (`executing` with `node=None`); filter the
    events with `is_prompt_event` first."""
    return isinstance(event, ExecutingEvent) and event.node is None


def final_history(
    client: ComfyClient, prompt_id: str, grace_s: float = HISTORY_GRACE_S
) -> HistoryEntry:
    """`/history/{prompt_id}` of a prompt reported done, waiting up to `grace_s` for it.

    Raises:
        BackendProtocolError: Still no entry after `grace_s` (the backend broke the rule).
        BackendUnreachable: The backend could not be asked.
    """
    grace_end = time.monotonic() + grace_s
    while (entry := client.history(prompt_id)) is None:
        if time.monotonic() > grace_end:
            url = f"{client.base_url}/history/{prompt_id}"
            raise BackendProtocolError(
                f"{url} is empty although the backend reported prompt {prompt_id} done", url
            )
        time.sleep(_HISTORY_POLL_S)
    return entry
