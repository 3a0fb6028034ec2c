"""The headline path over real HTTP + WS: tiny SDXL text-to-image, pixelized by our node pack,
saved and fetched through `/view`; LoRA strength matters; bad model files fail clearly."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
from engine_client import WsClient, event_types, run_graph, submit
from fixtures.sdxl_graphs import txt2img_graph
from PIL import Image

from engine.runner import RunningEngine


def sdxl_graph(
    strength: float = 1.0,
    prefix: str = "sdxl/sprite",
    ckpt: str = "tiny_sdxl.safetensors",
    pixelize: bool = True,
) -> dict[str, Any]:
    """Checkpoint, LoRA, prompts, 64² latent, 2 euler steps, decode, pixelize (optional), save."""
    lora = ("tiny_lora.safetensors", strength)
    graph: dict[str, Any] = txt2img_graph(
        ckpt=ckpt, prompt="a red potion", prefix=prefix, lora=lora
    )
    if pixelize:
        pixel = {
            "image": ["8", 0],
            "sprite_size": "16x16",
            "palette": "auto",
            "colors": 8,
            "dither": "none",
            "remove_background": "none",
            "outline": False,
            "seed": 0,
        }
        graph["11"] = {"class_type": "DGXP_PixelizeSprite", "inputs": pixel}
        graph["9"]["inputs"]["images"] = ["11", 0]
    return graph


def _view(engine: RunningEngine, image: dict[str, str]) -> bytes:
    response = requests.get(f"{engine.url}/view", params=image, timeout=30)
    assert response.status_code == 200
    return response.content


def test_text_to_sprite_png_is_fetched_through_view(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    prompt_id, events, entry = run_graph(ws, sdxl_graph())
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert [
        e["data"]["value"] for e in events if e["type"] == "progress" and e["data"]["node"] == "3"
    ] == [1, 2]
    image = entry["outputs"]["9"]["images"][0]
    assert image == {"filename": "sprite_00001_.png", "subfolder": "sdxl", "type": "output"}
    with Image.open(io.BytesIO(_view(running_engine, image))) as png:
        assert png.size == (16, 16)
        assert png.text["prompt"]  # type: ignore[attr-defined]
    assert event_types(events)[-1] == "executing"
    assert prompt_id in requests.get(f"{running_engine.url}/history", timeout=10).json()


def test_lora_strength_zero_and_one_give_different_pictures(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    digests = []
    for strength in (0.0, 1.0):
        _, _, entry = run_graph(
            ws, sdxl_graph(strength, prefix=f"lora/s{strength}", pixelize=False)
        )
        assert entry["status"]["status_str"] == "success", entry["status"]
        png = _view(running_engine, entry["outputs"]["9"]["images"][0])
        with Image.open(io.BytesIO(png)) as img:
            digests.append(hashlib.sha256(np.asarray(img).tobytes()).hexdigest())
    assert digests[0] != digests[1]


def test_missing_checkpoint_is_value_not_in_list(running_engine: RunningEngine) -> None:
    response = submit(running_engine.url, sdxl_graph(ckpt="nope.safetensors"))
    assert response.status_code == 400
    error = response.json()["node_errors"]["4"]["errors"][0]
    assert error["type"] == "value_not_in_list"
    assert error["details"] == "ckpt_name: 'nope.safetensors' not in ['tiny_sdxl.safetensors']"


def test_corrupt_safetensors_gives_a_clear_execution_error(
    running_engine: RunningEngine, ws: WsClient, engine_models_dir: Path
) -> None:
    corrupt = engine_models_dir / "checkpoints" / "corrupt_e2e.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    try:
        _, events, entry = run_graph(ws, sdxl_graph(ckpt=corrupt.name))
    finally:
        corrupt.unlink()
    error = next(e["data"] for e in events if e["type"] == "execution_error")
    assert (error["node_id"], error["node_type"]) == ("4", "CheckpointLoaderSimple")
    assert "corrupt_e2e.safetensors" in error["exception_message"]
    assert error["exception_type"] == "engine.errors.ModelLoadError"
    assert entry["status"]["status_str"] == "error"
    # The engine still runs the next prompt and the models folder is untouched.
    assert sorted(p.name for p in (engine_models_dir / "checkpoints").iterdir()) == [
        "tiny_sdxl.safetensors"
    ]


def test_free_unloads_models_and_resets_the_cache(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    _, _, first = run_graph(ws, sdxl_graph(prefix="free/a", pixelize=False))
    assert first["status"]["status_str"] == "success"
    assert running_engine.context.models.loaded()
    body = {"unload_models": True, "free_memory": True}
    assert requests.post(f"{running_engine.url}/free", json=body, timeout=10).status_code == 200
    deadline = time.monotonic() + 10
    while running_engine.context.models.loaded() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_engine.context.models.loaded() == []
    _, events, _ = run_graph(ws, sdxl_graph(prefix="free/a", pixelize=False))
    assert next(e["data"]["nodes"] for e in events if e["type"] == "execution_cached") == []


def test_interrupt_stops_the_sampler_between_steps(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    graph = sdxl_graph(prefix="int/a", pixelize=False)
    graph["3"]["inputs"]["steps"] = 500
    prompt_id = submit(running_engine.url, graph, ws.client_id).json()["prompt_id"]
    ws.wait_for("progress", prompt_id)
    requests.post(f"{running_engine.url}/interrupt", json={"prompt_id": prompt_id}, timeout=10)
    events = ws.wait_done(prompt_id)
    interrupted = next(e["data"] for e in events if e["type"] == "execution_interrupted")
    assert interrupted["node_type"] == "KSampler"
    assert len([e for e in events if e["type"] == "progress"]) < 500
