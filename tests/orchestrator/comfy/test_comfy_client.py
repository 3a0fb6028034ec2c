"""The HTTP client against the engine's real server (ephemeral port)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from PIL import Image

from orchestrator.comfy import (
    BackendProtocolError,
    ComfyClient,
    EventStream,
    OutputNotFound,
    PromptRejected,
)
from orchestrator.comfy.client import MIN_COMFYUI_VERSION
from orchestrator.comfy.events import FeatureFlagsEvent, StatusEvent
from orchestrator.comfy.models import parse_version


def _png(color: tuple[int, int, int, int], size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_system_stats_is_a_health_and_version_check(client: ComfyClient) -> None:
    stats = client.system_stats()
    assert stats.version >= MIN_COMFYUI_VERSION
    assert stats.is_embedded_engine
    assert stats.devices, "the engine reports at least one device"


def test_too_old_backend_is_refused_naming_versions(client: ComfyClient) -> None:
    with pytest.raises(BackendProtocolError) as err:
        client.system_stats(min_version=(99, 0))
    assert "DGX-Pixels needs 99.0 or newer" in str(err.value)
    assert client.system_stats().comfyui_version in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.3.64", (0, 3, 64)), ("v1.2.3-rc1", (1, 2, 3)), ("unknown", ()), ("2", (2,))],
)
def test_parse_version(text: str, expected: tuple[int, ...]) -> None:
    assert parse_version(text) == expected


def test_object_info_is_cached_until_refreshed(client: ComfyClient) -> None:
    first = client.object_info()
    assert "KSampler" in first and "DGXP_PixelizeSprite" in first
    assert client.object_info() is first, "a second call must come from the cache"
    refreshed = client.object_info(refresh=True)
    assert refreshed is not first
    assert refreshed.keys() == first.keys()


def test_models_lists_the_loader_files(client: ComfyClient) -> None:
    assert "tiny_sdxl.safetensors" in client.models("checkpoints")
    assert "tiny_lora.safetensors" in client.models("loras")


def test_upload_then_view_returns_the_same_bytes(client: ComfyClient) -> None:
    data = _png((255, 0, 0, 255))
    name = f"up_{uuid.uuid4().hex[:8]}.png"
    stored = client.upload_image(data, name=name, subfolder="dgxp_tests")
    assert (stored.name, stored.subfolder, stored.type) == (name, "dgxp_tests", "input")
    assert stored.path == f"dgxp_tests/{name}"
    assert client.view(name, subfolder="dgxp_tests", type="input") == data


def test_upload_of_different_bytes_under_a_taken_name_gets_a_new_name(
    client: ComfyClient,
) -> None:
    name = f"dup_{uuid.uuid4().hex[:8]}.png"
    first = client.upload_image(_png((0, 255, 0, 255)), name=name)
    same = client.upload_image(_png((0, 255, 0, 255)), name=name)
    other = client.upload_image(_png((0, 0, 255, 255)), name=name)
    assert first.name == same.name == name
    assert other.name != name
    assert client.view(name, type="input") == _png((0, 255, 0, 255)), "first file untouched"


def test_view_of_a_missing_file_is_output_not_found(client: ComfyClient) -> None:
    with pytest.raises(OutputNotFound, match=r"no output file 'nope\.png'"):
        client.view("nope.png")


def test_rejected_prompt_names_node_class_and_input(
    client: ComfyClient, sdxl_graph: dict[str, Any]
) -> None:
    sdxl_graph["5"]["inputs"]["width"] = 4
    sdxl_graph["3"]["inputs"]["sampler_name"] = "no_such_sampler"
    with pytest.raises(PromptRejected) as err:
        client.submit(sdxl_graph, client_id="t")
    message = str(err.value)
    assert "node 5 (EmptyLatentImage) input 'width'" in message
    assert "node 3 (KSampler) input 'sampler_name'" in message
    assert err.value.node_errors["5"]["class_type"] == "EmptyLatentImage"
    assert client.queue().load == 0, "nothing was queued"


def test_unknown_node_class_is_rejected(client: ComfyClient) -> None:
    graph = {"1": {"class_type": "NoSuchNode", "inputs": {}}}
    with pytest.raises(PromptRejected, match="NoSuchNode"):
        client.submit(graph, client_id="t")


def test_queue_interrupt_and_free_when_idle(client: ComfyClient) -> None:
    assert client.queue().running == ()
    client.interrupt()  # nothing running: harmless
    client.interrupt(prompt_id="not-running")
    client.free(unload_models=False, free_memory=True)
    client.delete_queued(["not-queued"])
    assert client.queue().load == 0


def test_history_of_an_unknown_prompt_is_none(client: ComfyClient) -> None:
    assert client.history(uuid.uuid4().hex) is None


def test_event_stream_handshake_gets_sid_and_feature_flags(client: ComfyClient) -> None:
    client_id = uuid.uuid4().hex
    with EventStream(client.base_url, client_id, receive_timeout=2) as stream:
        events = []
        for event in stream:
            events.append(event)
            if isinstance(event, FeatureFlagsEvent):
                break
    status = next(e for e in events if isinstance(e, StatusEvent))
    assert status.sid == client_id
    assert status.queue_remaining == 0
    flags = next(e for e in events if isinstance(e, FeatureFlagsEvent))
    assert flags.supports_preview_metadata is True


def test_public_surface_is_exported() -> None:
    import orchestrator.comfy as package

    for name in package.__all__:
        assert getattr(package, name) is not None
    assert {"ComfyClient", "EventStream", "run_prompt", "fetch_outputs"} <= set(package.__all__)
