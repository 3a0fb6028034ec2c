"""`/object_info`, `/system_stats`, `/models`, `/features`, `/api` aliases, the origin guard,
and the websocket handshake (status with sid, feature flags, binary preview frames)."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable

import pytest
import requests
from engine_client import WsClient, parse_preview_frame, run_graph, solid_save_graph
from PIL import Image

from engine.runner import RunningEngine

INFO_KEYS = {
    "input", "input_order", "output", "output_is_list", "output_name", "name", "display_name",
    "description", "python_module", "category", "output_node",
}  # fmt: skip


def test_object_info_lists_core_pack_and_test_nodes_with_all_keys(
    running_engine: RunningEngine,
) -> None:
    info = requests.get(f"{running_engine.url}/object_info", timeout=30).json()
    for name in (
        "LoadImage",
        "SaveImage",
        "PreviewImage",
        "ImageScale",
        "ImageScaleBy",
        "JoinImageWithAlpha",
    ):
        assert set(info[name]) >= INFO_KEYS, name
    assert info["SaveImage"]["python_module"] == "nodes"
    assert info["SaveImage"]["output_node"] is True
    assert info["JoinImageWithAlpha"]["python_module"] == "comfy_extras.nodes_compositing"
    assert info["DGXP_PixelizeSprite"]["python_module"] == "custom_nodes.comfy_nodes"
    solid = info["DGXPTest_SolidImage"]
    assert solid["python_module"] == "custom_nodes.dgxp_test_nodes"
    assert solid["display_name"] == "Solid Image (test)"
    assert solid["input_order"] == {"required": ["width", "height", "red"], "optional": ["alpha"]}
    assert info["DGXPTest_CountTo"]["output_is_list"] == [True]
    scale = info["ImageScale"]["input"]["required"]
    assert scale["upscale_method"] == [["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]]
    assert scale["width"] == ["INT", {"default": 512, "min": 0, "max": 16384, "step": 1}]
    assert scale["crop"] == [["disabled", "center"]]
    scale_by = info["ImageScaleBy"]["input"]["required"]["scale_by"]
    assert scale_by == ["FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0, "step": 0.01}]


def test_object_info_for_one_class_and_for_an_unknown_one(running_engine: RunningEngine) -> None:
    one = requests.get(f"{running_engine.url}/object_info/SaveImage", timeout=10).json()
    assert list(one) == ["SaveImage"]
    assert requests.get(f"{running_engine.url}/object_info/Nope", timeout=10).json() == {}


def test_file_combos_are_rescanned_on_every_call(running_engine: RunningEngine) -> None:
    def choices() -> list[str]:
        info = requests.get(f"{running_engine.url}/api/object_info/LoadImage", timeout=10).json()
        names: list[str] = info["LoadImage"]["input"]["required"]["image"][0]
        return names

    assert choices() == []
    Image.new("RGB", (2, 2)).save(running_engine.context.paths.input / "new.png")
    assert choices() == ["new.png"]


def test_system_stats_has_comfyui_shape(running_engine: RunningEngine) -> None:
    stats = requests.get(f"{running_engine.url}/system_stats", timeout=10).json()
    assert {
        "os", "ram_total", "ram_free", "comfyui_version", "python_version", "pytorch_version",
        "embedded_python", "argv", "required_frontend_version",
    } <= set(stats["system"])  # fmt: skip
    # orchestrator.comfy tells the embedded engine from a real ComfyUI by this key.
    assert "dgx-pixels" in stats["system"]["engine"]
    assert tuple(int(p) for p in stats["system"]["comfyui_version"].split(".")) >= (0, 3, 40)
    device = stats["devices"][0]
    assert set(device) == {
        "name", "type", "index", "vram_total", "vram_free", "torch_vram_total", "torch_vram_free"
    }  # fmt: skip
    assert device["type"] == "cpu"


def test_models_lists_folders_and_files(running_engine: RunningEngine) -> None:
    folders = requests.get(f"{running_engine.url}/models", timeout=10).json()
    assert {"checkpoints", "loras", "vae"} <= set(folders)
    assert requests.get(f"{running_engine.url}/models/checkpoints", timeout=10).json() == [
        "tiny_sdxl.safetensors"
    ]
    assert requests.get(f"{running_engine.url}/api/models/loras", timeout=10).json() == [
        "tiny_lora.safetensors"
    ]
    assert requests.get(f"{running_engine.url}/models/nope", timeout=10).status_code == 404


@pytest.mark.parametrize(
    "path", ["/prompt", "/queue", "/history", "/features", "/embeddings", "/extensions"]
)
def test_every_route_is_also_under_api(running_engine: RunningEngine, path: str) -> None:
    plain = requests.get(f"{running_engine.url}{path}", timeout=10)
    api = requests.get(f"{running_engine.url}/api{path}", timeout=10)
    assert plain.status_code == api.status_code == 200
    assert plain.json() == api.json()


def test_origin_guard_refuses_a_foreign_origin_on_loopback(running_engine: RunningEngine) -> None:
    url = f"{running_engine.url}/prompt"
    assert (
        requests.get(url, headers={"Origin": "http://evil.example"}, timeout=10).status_code == 403
    )
    same = f"http://127.0.0.1:{running_engine.port}"
    assert requests.get(url, headers={"Origin": same}, timeout=10).status_code == 200
    assert requests.get(url, timeout=10).status_code == 200


def test_ws_status_on_connect_carries_the_generated_sid(running_engine: RunningEngine) -> None:
    client = WsClient(running_engine.url, client_id="")
    try:
        hello = client.wait_for("status")
        assert len(hello["data"]["sid"]) == 32
        assert hello["data"]["status"] == {"exec_info": {"queue_remaining": 0}}
    finally:
        client.close()


def test_feature_flags_handshake_and_metadata_preview_frames(
    ws_factory: Callable[..., WsClient],
) -> None:
    client = ws_factory(flags={"supports_preview_metadata": True})
    reply = client.wait_for("feature_flags")
    assert reply["data"] == {
        "supports_preview_metadata": True,
        "max_upload_size": 100 * 1024 * 1024,
    }
    graph = solid_save_graph(prefix="pv/x", steps=2)
    graph["2"]["inputs"]["preview"] = True
    prompt_id, _, _ = run_graph(client, graph)
    assert len(client.frames) == 2
    event, metadata, image = parse_preview_frame(client.frames[0])
    assert event == 4
    assert metadata == {
        "node_id": "2", "prompt_id": prompt_id, "display_node_id": "2", "parent_node_id": None,
        "real_node_id": "2", "image_type": "image/png",
    }  # fmt: skip
    assert image.startswith(b"\x89PNG")


def test_clients_without_flags_get_plain_preview_frames(ws: WsClient) -> None:
    graph = solid_save_graph(prefix="pv/y", steps=1)
    graph["2"]["inputs"]["preview"] = True
    run_graph(ws, graph)
    event, image_type, image = parse_preview_frame(ws.frames[0])
    assert (event, image_type) == (1, 2)
    assert image.startswith(b"\x89PNG")


def test_saved_png_carries_prompt_and_workflow_chunks(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = solid_save_graph(prefix="meta/x")
    _, _, entry = run_graph(
        ws, graph, extra_data={"extra_pnginfo": {"workflow": {"nodes": []}, "note": "hi"}}
    )
    image = entry["outputs"]["3"]["images"][0]
    png = requests.get(f"{running_engine.url}/view", params=image, timeout=10).content
    text = Image.open(io.BytesIO(png)).text  # type: ignore[attr-defined]
    assert json.loads(text["prompt"]) == graph
    assert json.loads(text["workflow"]) == {"nodes": []}
    assert json.loads(text["note"]) == "hi"


def test_view_metadata_reads_the_safetensors_header(running_engine: RunningEngine) -> None:
    loras = running_engine.context.paths.output / "loras"
    loras.mkdir(parents=True)
    header = json.dumps({"__metadata__": {"ss_network_dim": "4"}}).encode()
    (loras / "meta.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    url = f"{running_engine.url}/view_metadata/loras"
    assert requests.get(url, params={"filename": "meta.safetensors"}, timeout=10).json() == {
        "ss_network_dim": "4"
    }
    (running_engine.context.paths.output.parent / "outside.safetensors").write_bytes(
        struct.pack("<Q", len(header)) + header
    )
    for params in ({"filename": "../../outside.safetensors"}, {"filename": "meta.bin"}, {}):
        assert requests.get(url, params=params, timeout=10).status_code == 404
    assert (
        requests.get(
            f"{running_engine.url}/view_metadata/nope?filename=a.safetensors", timeout=10
        ).status_code
        == 404
    )


def test_garbage_from_a_websocket_client_is_ignored(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    ws.socket.send("this is not json")
    ws.socket.send_binary(b"\x00\x01")
    ws.socket.send(json.dumps({"type": "feature_flags", "data": "late and wrong"}))
    _, _, entry = run_graph(ws, solid_save_graph(prefix="garbage/x"))
    assert entry["status"]["status_str"] == "success"
    assert not any(e["type"] == "feature_flags" for e in ws.events)
