"""Submitting and waiting by ComfyUI's completion rule, on the engine's real server:
typed events, outputs through /history + /view, errors, interrupts, and a WebSocket that
drops mid-prompt (closed from the test side) and is reconciled through /history."""

from __future__ import annotations

import io
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from orchestrator.comfy import (
    BackendUnreachable,
    ComfyClient,
    EventStream,
    ExecutionFailed,
    Interrupted,
    PromptLost,
    Timeout,
    fetch_outputs,
    run_prompt,
)
from orchestrator.comfy.events import (
    ComfyEvent,
    ExecutedEvent,
    ExecutingEvent,
    ExecutionStartEvent,
    ExecutionSuccessEvent,
    ProgressEvent,
    StatusEvent,
)


def test_image_graph_runs_and_outputs_come_back_through_view(
    client: ComfyClient, image_graph: dict[str, Any]
) -> None:
    events: list[ComfyEvent] = []
    result = run_prompt(client, image_graph, on_event=events.append, timeout=60)
    assert result.status == "success"
    assert result.reconnects == 0
    (image,) = fetch_outputs(client, result)
    assert image.node_id == "3" and image.type == "output"
    assert image.filename.startswith("dgxp_client_test_")
    with Image.open(io.BytesIO(image.data)) as png:
        assert png.size == (16, 16), "ImageScaleBy doubled the 8x8 upload"
    kinds = [type(e) for e in events]
    assert kinds[0] is ExecutionStartEvent
    assert ExecutedEvent in kinds and ExecutionSuccessEvent in kinds
    last = events[-1]
    assert isinstance(last, ExecutingEvent) and last.node is None
    assert all(e.prompt_id in (None, result.prompt_id) for e in events)


def test_own_prompt_id_and_extra_pnginfo_reach_the_backend(
    client: ComfyClient, image_graph: dict[str, Any]
) -> None:
    prompt_id = f"dgxp-{uuid.uuid4().hex}"
    workflow = {"nodes": [], "links": [], "version": 0.4}
    result = run_prompt(
        client,
        image_graph,
        prompt_id=prompt_id,
        extra_data={"extra_pnginfo": {"workflow": workflow}},
        timeout=60,
    )
    assert result.prompt_id == prompt_id
    (image,) = fetch_outputs(client, result)
    with Image.open(io.BytesIO(image.data)) as png:
        assert "prompt" in png.info and "workflow" in png.info


def test_sdxl_prompt_streams_typed_progress(
    client: ComfyClient, sdxl_graph: dict[str, Any]
) -> None:
    events: list[ComfyEvent] = []
    result = run_prompt(client, sdxl_graph, on_event=events.append, timeout=240)
    progress = [(e.value, e.max) for e in events if isinstance(e, ProgressEvent)]
    assert (1, 2) in progress and (2, 2) in progress
    executing = [e.node for e in events if isinstance(e, ExecutingEvent)]
    assert "3" in executing and executing[-1] is None
    (image,) = fetch_outputs(client, result)
    with Image.open(io.BytesIO(image.data)) as png:
        assert png.size == (64, 64)


def test_node_failure_raises_execution_failed_with_node_and_message(
    client: ComfyClient, image_graph: dict[str, Any]
) -> None:
    image_graph["4"] = {
        "class_type": "DGXP_PixelizeSprite",
        "inputs": {
            "image": ["1", 0],
            "sprite_size": "banana",
            "palette": "auto",
            "colors": 16,
            "dither": "none",
            "remove_background": "none",
            "outline": False,
            "seed": 0,
        },
    }
    image_graph["3"]["inputs"]["images"] = ["4", 0]
    with pytest.raises(ExecutionFailed) as err:
        run_prompt(client, image_graph, timeout=60)
    assert "at node 4 (DGXP_PixelizeSprite)" in str(err.value)
    assert "banana" in str(err.value)


def test_interrupt_during_sampling_raises_interrupted(
    client: ComfyClient, sdxl_graph: dict[str, Any]
) -> None:
    sdxl_graph["3"]["inputs"]["steps"] = 50

    def interrupt_on_progress(event: ComfyEvent) -> None:
        if isinstance(event, ProgressEvent):
            client.interrupt(event.prompt_id)

    with pytest.raises(Interrupted) as err:
        run_prompt(client, sdxl_graph, on_event=interrupt_on_progress, timeout=240)
    entry = client.history(err.value.prompt_id)
    assert entry is not None and entry.status_str == "error"
    assert client.queue().running == ()


def test_dropped_socket_reconciles_from_history_when_prompt_finished_meanwhile(
    client: ComfyClient, image_graph: dict[str, Any]
) -> None:
    stream = EventStream(client.base_url, uuid.uuid4().hex).connect()
    seen: list[ComfyEvent] = []

    def drop_and_wait_for_the_end(event: ComfyEvent) -> None:
        seen.append(event)
        if isinstance(event, ExecutionStartEvent):
            stream.close()  # the socket drops: every later event of this prompt is lost
            deadline = time.monotonic() + 60
            while client.history(event.prompt_id or "") is None:
                assert time.monotonic() < deadline, "prompt never finished"
                time.sleep(0.05)

    try:
        result = run_prompt(
            client, image_graph, on_event=drop_and_wait_for_the_end, stream=stream, timeout=60
        )
    finally:
        stream.close()
    assert result.reconnects == 1
    assert result.status == "success"
    assert [type(e) for e in seen] == [ExecutionStartEvent], "nothing after the drop arrived"
    (image,) = fetch_outputs(client, result)
    assert image.data.startswith(b"\x89PNG")


def test_dropped_socket_reconnects_and_keeps_following_a_running_prompt(
    client: ComfyClient, sdxl_graph: dict[str, Any]
) -> None:
    sdxl_graph["3"]["inputs"]["steps"] = 10  # long enough to still run after the reconnect
    stream = EventStream(client.base_url, uuid.uuid4().hex).connect()
    seen: list[ComfyEvent] = []

    def drop_once(event: ComfyEvent) -> None:
        seen.append(event)
        if isinstance(event, ExecutionStartEvent):
            stream.close()

    try:
        result = run_prompt(client, sdxl_graph, on_event=drop_once, stream=stream, timeout=240)
    finally:
        stream.close()
    assert result.reconnects == 1
    assert result.status == "success"
    after_drop = seen[1:]
    assert any(isinstance(e, ProgressEvent) for e in after_drop), "events resumed"
    last = seen[-1]
    assert isinstance(last, ExecutingEvent) and last.node is None


def test_timeout_names_the_prompt_and_leaves_it_on_the_backend(
    client: ComfyClient, image_graph: dict[str, Any]
) -> None:
    with pytest.raises(Timeout) as err:
        run_prompt(client, image_graph, timeout=0.001)
    assert err.value.prompt_id in str(err.value)
    assert "may still be running" in str(err.value)
    deadline = time.monotonic() + 60
    while client.history(err.value.prompt_id) is None:  # it still completes over there
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_events_of_other_clients_are_not_ours(
    client: ComfyClient, image_graph: dict[str, Any]
) -> None:
    with EventStream(client.base_url, uuid.uuid4().hex, receive_timeout=0.5) as bystander:
        result = run_prompt(client, image_graph, timeout=60)
        received = list(bystander)
    # The bystander was listening (it got the queue broadcasts) ...
    assert sum(isinstance(e, StatusEvent) for e in received) >= 2
    # ... but none of the execution events of a prompt submitted under another client id.
    ours = [e for e in received if e.prompt_id == result.prompt_id]
    assert not any(
        isinstance(e, ExecutingEvent | ExecutedEvent | ExecutionStartEvent) for e in ours
    )


def test_backend_dying_mid_prompt_is_backend_unreachable(
    engine_models_dir: Path, tmp_path: Path, image_graph: dict[str, Any], client: ComfyClient
) -> None:
    from engine.runner import EngineConfig, start_engine

    # A second, short-lived engine that we stop while our prompt runs on it.
    running = start_engine(EngineConfig(base_dir=tmp_path, models_dir=engine_models_dir, port=0))
    doomed = ComfyClient(running.url, timeout=5)
    source = client.view(image_graph["1"]["inputs"]["image"], type="input")
    image_graph["1"]["inputs"]["image"] = doomed.upload_image(source, name="src.png").path

    def stop_backend(event: ComfyEvent) -> None:
        if isinstance(event, ExecutionStartEvent):
            running.stop()

    try:
        with pytest.raises(BackendUnreachable) as err:
            run_prompt(doomed, image_graph, on_event=stop_backend, timeout=60, reconnect_timeout=1)
    finally:
        running.stop()
        doomed.close()
    assert running.url.removeprefix("http://") in str(err.value)


def test_prompt_deleted_from_the_queue_is_reported_lost(
    client: ComfyClient, sdxl_graph: dict[str, Any], image_graph: dict[str, Any]
) -> None:
    # A long prompt of another client keeps ours pending; then ours is deleted over there.
    sdxl_graph["3"]["inputs"]["steps"] = 10000
    blocker = client.submit(sdxl_graph, client_id="someone-else").prompt_id
    ours = f"lost-{uuid.uuid4().hex}"

    def delete_ours_once_pending() -> None:
        deadline = time.monotonic() + 30
        while ours not in client.queue().pending:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        client.delete_queued([ours])

    deleter = threading.Thread(target=delete_ours_once_pending)
    deleter.start()
    try:
        with pytest.raises(PromptLost) as err:
            run_prompt(client, image_graph, prompt_id=ours, timeout=60, poll_interval=0.2)
    finally:
        deleter.join(30)
        client.interrupt(blocker)
    assert err.value.prompt_id == ours
    assert "submit it again" in str(err.value)
    deadline = time.monotonic() + 60
    while client.queue().running:  # leave the engine idle for the next test
        assert time.monotonic() < deadline
        time.sleep(0.05)
