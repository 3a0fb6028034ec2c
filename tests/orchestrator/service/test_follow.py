"""Following one prompt on the real engine: completion rule, dropped socket, cancel, loss."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from orchestrator.comfy.client import ComfyClient
from orchestrator.comfy.ws import EventStream
from orchestrator.service.follow import FollowHooks, PromptCancelled, PromptLost, follow_prompt
from orchestrator.workflows import TemplateLibrary, default_templates_dir

FAST = {"checkpoint": "tiny_sdxl.safetensors", "width": 64, "height": 64}


def _graph(seed: int, steps: int) -> dict[str, Any]:
    template = TemplateLibrary(default_templates_dir()).get("single_sprite")
    values = {**FAST, "prompt": "a key", "seed": seed, "steps": steps, "save_raw": True}
    return template.render(values)


class _Hooks:
    def __init__(self) -> None:
        self.started = 0
        self.progress: list[tuple[int, int]] = []
        self.cancel = threading.Event()

    def hooks(self) -> FollowHooks:
        return FollowHooks(
            started=lambda: setattr(self, "started", self.started + 1),
            progress=lambda v, m: self.progress.append((v, m)),
            preview=lambda image, mime: None,
            cancelled=self.cancel.is_set,
            detach=lambda: False,
        )


def test_a_dropped_socket_is_reconnected_and_the_prompt_still_collected(orch_engine: Any) -> None:
    client = ComfyClient(orch_engine.url)
    stream = EventStream(orch_engine.url, uuid.uuid4().hex, receive_timeout=1).connect()
    recorder = _Hooks()
    prompt_id = uuid.uuid4().hex
    client.submit(_graph(201, 30), stream.client_id, prompt_id=prompt_id)

    def drop_after_first_step() -> None:
        while not recorder.progress:
            time.sleep(0.01)
        stream.close()  # the socket goes away mid-prompt

    threading.Thread(target=drop_after_first_step, daemon=True).start()
    entry = follow_prompt(client, stream, prompt_id, recorder.hooks(), time.monotonic() + 120)
    assert entry.succeeded and entry.prompt_id == prompt_id
    assert {"11", "12"} <= set(entry.outputs)  # sprite and raw, from /history after the drop
    assert recorder.started == 1
    stream.close()
    client.close()


def test_clean_run_is_collected_from_executed_events(orch_engine: Any) -> None:
    client = ComfyClient(orch_engine.url)
    with EventStream(orch_engine.url, uuid.uuid4().hex, receive_timeout=1) as stream:
        recorder = _Hooks()
        prompt_id = uuid.uuid4().hex
        client.submit(_graph(202, 2), stream.client_id, prompt_id=prompt_id)
        entry = follow_prompt(client, stream, prompt_id, recorder.hooks(), time.monotonic() + 60)
    history = client.history(prompt_id)
    assert history is not None and entry.outputs == history.outputs
    assert recorder.progress[-1] == (2, 2)
    client.close()


def test_cancel_stops_following_promptly(orch_engine: Any) -> None:
    client = ComfyClient(orch_engine.url)
    with EventStream(orch_engine.url, uuid.uuid4().hex, receive_timeout=1) as stream:
        recorder = _Hooks()
        prompt_id = uuid.uuid4().hex
        client.submit(_graph(203, 150), stream.client_id, prompt_id=prompt_id)
        recorder.cancel.set()
        with pytest.raises(PromptCancelled):
            follow_prompt(client, stream, prompt_id, recorder.hooks(), time.monotonic() + 60)
    client.delete_queued([prompt_id])
    client.interrupt(prompt_id)
    client.close()


def test_a_prompt_the_backend_does_not_know_is_lost(orch_engine: Any) -> None:
    client = ComfyClient(orch_engine.url)
    stream = EventStream(orch_engine.url, uuid.uuid4().hex, receive_timeout=1)
    with stream, pytest.raises(PromptLost, match="neither queued nor in history"):
        follow_prompt(client, stream, "never-sent", _Hooks().hooks(), time.monotonic() + 30)
    client.close()
