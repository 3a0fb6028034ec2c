"""The completion rule both waiters share: which events are ours, when a prompt is done,
and the history entry that follows `executing null` (against the real engine)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.completion import final_history, is_done, is_prompt_event
from orchestrator.comfy.errors import BackendProtocolError
from orchestrator.comfy.events import (
    ExecutingEvent,
    PreviewFrame,
    ProgressEvent,
    ProgressTextFrame,
)
from orchestrator.comfy.run import run_prompt


def _preview(prompt_id: str | None) -> PreviewFrame:
    return PreviewFrame(prompt_id=prompt_id, event=1, image_type="image/png", image=b"x")


def test_events_of_another_prompt_are_not_ours() -> None:
    assert is_prompt_event(ProgressEvent(prompt_id="a", value=1, max=2), "a", started=False)
    assert not is_prompt_event(ProgressEvent(prompt_id="b", value=1, max=2), "a", started=True)
    assert not is_prompt_event(_preview("b"), "a", started=True)


def test_id_less_frames_count_only_once_our_prompt_started() -> None:
    text = ProgressTextFrame(node_id="3", text="hi")
    assert not is_prompt_event(_preview(None), "a", started=False)
    assert not is_prompt_event(text, "a", started=False)
    assert is_prompt_event(_preview(None), "a", started=True)
    assert is_prompt_event(text, "a", started=True)


def test_only_executing_with_no_node_is_done() -> None:
    assert is_done(ExecutingEvent(prompt_id="a", node=None))
    assert not is_done(ExecutingEvent(prompt_id="a", node="3"))
    assert not is_done(ProgressEvent(prompt_id="a", value=2, max=2))


def test_final_history_returns_a_finished_prompts_entry(
    client: ComfyClient, image_graph: dict[str, Any]
) -> None:
    result = run_prompt(client, image_graph, timeout=60)
    entry = final_history(client, result.prompt_id)
    assert entry.succeeded and entry.outputs == result.outputs


def test_final_history_of_an_unknown_prompt_names_its_history_url(client: ComfyClient) -> None:
    with pytest.raises(BackendProtocolError, match=r"/history/never-ran .*never-ran done"):
        final_history(client, "never-ran", grace_s=0.05)
