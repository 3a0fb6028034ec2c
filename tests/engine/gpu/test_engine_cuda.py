"""The engine on CUDA: tiny SDXL in fp16/bf16, the served text-to-sprite graph, CPU-made
noise, LoRA strength, `/free`, and torch.compile compiling once per shape.

Run on a GPU box: `python3 -m pytest -m gpu tests/engine/gpu -q -p no:cacheprovider`
(skipped without CUDA). Tiny model, 64² pictures, 2 steps: the whole file takes well under
a minute plus the one torch.compile warm-up.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import torch
from engine_client import WsClient, submit
from PIL import Image

from engine.models.cache import ModelCache
from engine.runner import RunningEngine
from engine.sampling.ksampler import SampleRequest, sample
from engine.sampling.noise import prepare_noise

pytestmark = pytest.mark.gpu

COMPILE_TIMEOUT_S = 600.0  # the first compiled prompt waits for inductor


def sprite_graph(
    seed: int = 42, strength: float = 1.0, prefix: str = "gpu/sprite", pixelize: bool = True
) -> dict[str, Any]:
    """CheckpointLoaderSimple → LoraLoader → CLIPTextEncode ×2 → EmptyLatentImage → KSampler
    → VAEDecode → DGXP_PixelizeSprite → SaveImage at 64², 2 euler steps."""
    graph: dict[str, Any] = {
        "4": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "tiny_sdxl.safetensors"},
        },
        "10": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["4", 0],
                "clip": ["4", 1],
                "lora_name": "tiny_lora.safetensors",
                "strength_model": strength,
                "strength_clip": strength,
            },
        },
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a red potion", "clip": ["10", 1]},
        },
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["10", 1]}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
        },
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed,
                "steps": 2,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["10", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": prefix}},
    }
    if pixelize:
        graph["11"] = {
            "class_type": "DGXP_PixelizeSprite",
            "inputs": {
                "image": ["8", 0],
                "sprite_size": "16x16",
                "palette": "auto",
                "colors": 8,
                "dither": "none",
                "remove_background": "none",
                "outline": False,
                "seed": 0,
            },
        }
        graph["9"]["inputs"]["images"] = ["11", 0]
    return graph


def _is_done(event: dict[str, Any] | None, prompt_id: str) -> bool:
    """The final `executing` event of `prompt_id` (node null, after history is written)."""
    if event is None or event["type"] != "executing":
        return False
    return event["data"]["node"] is None and event["data"].get("prompt_id") == prompt_id


def run(engine: RunningEngine, graph: dict[str, Any], timeout_s: float = 120.0) -> dict[str, Any]:
    """Submit over HTTP, wait on `/ws` for `executing node=null`; the history entry."""
    ws = WsClient(engine.url)
    try:
        ws.socket.settimeout(timeout_s)  # a compiling step sends nothing for a while
        response = submit(engine.url, graph, ws.client_id)
        assert response.status_code == 200, response.text
        prompt_id = response.json()["prompt_id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _is_done(ws.receive(), prompt_id):
                break
        else:
            raise TimeoutError(f"prompt {prompt_id} did not finish within {timeout_s} s")
    finally:
        ws.close()
    history = requests.get(f"{engine.url}/history/{prompt_id}", timeout=30).json()
    entry: dict[str, Any] = history[prompt_id]
    assert entry["status"]["status_str"] == "success", entry["status"]
    return entry


def view_png(engine: RunningEngine, entry: dict[str, Any], node: str = "9") -> bytes:
    response = requests.get(
        f"{engine.url}/view", params=entry["outputs"][node]["images"][0], timeout=30
    )
    assert response.status_code == 200
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    return response.content


def pixels_digest(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as img:
        return hashlib.sha256(np.asarray(img).tobytes()).hexdigest()


@pytest.mark.parametrize(
    ("precision", "dtype"), [("fp16", torch.float16), ("bf16", torch.bfloat16)]
)
def test_tiny_checkpoint_loads_on_cuda_in_fp16_and_bf16(
    tiny_sdxl_checkpoint: Path, precision: str, dtype: torch.dtype
) -> None:
    cache = ModelCache(device="cuda", precision=precision)
    try:
        loaded = cache.load(tiny_sdxl_checkpoint)
        assert loaded.model.device.type == "cuda"
        assert loaded.model.dtype == dtype
        assert next(loaded.vae.checkpoint.vae.parameters()).dtype == torch.bfloat16
        cond, pooled = loaded.clip.encode("a red potion", "a red potion")
        assert cond.shape[:2] == (1, 77) and torch.isfinite(cond).all()
        assert torch.isfinite(pooled).all()
        image = loaded.vae.decode(torch.zeros(1, 4, 8, 8))
        assert image.shape == (1, 64, 64, 3) and image.device.type == "cpu"
    finally:
        cache.free()


def test_cuda_server_runs_text_to_sprite_and_view_returns_the_png(
    cuda_engine_factory: Callable[..., RunningEngine],
) -> None:
    engine = cuda_engine_factory()
    entry = run(engine, sprite_graph())
    assert entry["outputs"]["9"]["images"][0]["filename"] == "sprite_00001_.png"
    with Image.open(io.BytesIO(view_png(engine, entry))) as png:
        assert png.size == (16, 16)
    assert engine.context.device == "cuda"
    assert engine.context.models.loaded(), "the checkpoint stays loaded on the GPU"
    assert torch.cuda.memory_allocated() > 0


def _conditioning(cache: ModelCache, path: Path, text: str) -> list[list[Any]]:
    context, pooled = cache.load(path).clip.encode(text, text)
    return [[context, {"pooled_output": pooled}]]


def _sampled(cache: ModelCache, path: Path, seed: int) -> torch.Tensor:
    latent = torch.zeros(1, 4, 8, 8)
    request = SampleRequest(steps=2, cfg=7.0, sampler_name="euler", scheduler="normal", seed=seed)
    model = cache.load(path).model
    positive = _conditioning(cache, path, "a red potion")
    negative = _conditioning(cache, path, "blurry")
    with model.patched():
        return sample(model, prepare_noise(latent, seed), positive, negative, latent, request).cpu()


def test_same_seed_starts_from_the_same_noise_on_cpu_and_cuda(tiny_sdxl_checkpoint: Path) -> None:
    cpu_latent = torch.zeros(1, 4, 8, 8)
    noise_cpu = prepare_noise(cpu_latent, 7)
    noise_cuda = prepare_noise(cpu_latent.cuda(), 7)
    assert noise_cuda.device.type == "cpu"  # made on the CPU, like ComfyUI, whatever the device
    assert torch.equal(noise_cpu, noise_cuda)
    # Sampling end to end in fp32 on both devices lands on (nearly) the same latent — only
    # arithmetic differences (TF32 convolutions, kernel order) — while another seed lands far
    # away: the start noise is what decides the picture.
    cpu, cuda = ModelCache("cpu", "fp32"), ModelCache("cuda", "fp32")
    try:
        on_cpu = _sampled(cpu, tiny_sdxl_checkpoint, 7)
        on_cuda = _sampled(cuda, tiny_sdxl_checkpoint, 7)
        other_seed = _sampled(cuda, tiny_sdxl_checkpoint, 8)
    finally:
        cuda.free()
    device_gap = (on_cpu - on_cuda).abs().mean()
    seed_gap = (on_cuda - other_seed).abs().mean()
    assert device_gap < 0.02 * seed_gap, (device_gap, seed_gap)


def test_lora_strength_zero_and_one_differ_on_cuda(
    cuda_engine_factory: Callable[..., RunningEngine],
) -> None:
    engine = cuda_engine_factory()
    digests = [
        pixels_digest(
            view_png(
                engine, run(engine, sprite_graph(strength=s, prefix=f"lora/s{s}", pixelize=False))
            )
        )
        for s in (0.0, 1.0)
    ]
    assert digests[0] != digests[1]


def test_free_releases_cuda_memory(cuda_engine_factory: Callable[..., RunningEngine]) -> None:
    engine = cuda_engine_factory()
    run(engine, sprite_graph(prefix="free/before"))
    loaded = torch.cuda.memory_allocated()
    response = requests.post(
        f"{engine.url}/free", json={"unload_models": True, "free_memory": True}, timeout=30
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 30.0  # the worker acts on /free between prompts

    def freed() -> bool:  # memory and the model list are released in two steps
        return torch.cuda.memory_allocated() < loaded and engine.context.models.loaded() == []

    while not freed() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert torch.cuda.memory_allocated() < loaded
    assert engine.context.models.loaded() == []
    # ... and the engine loads the model again for the next prompt.
    run(engine, sprite_graph(seed=43, prefix="free/after"))
    assert torch.cuda.memory_allocated() > 0


def _dynamo_compiles() -> int:
    """Graphs torch._dynamo has compiled so far in this process."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def test_compiled_engine_compiles_once_and_reuses_it_for_the_next_prompt(
    cuda_engine_factory: Callable[..., RunningEngine],
) -> None:
    engine = cuda_engine_factory(compile="default")
    start = _dynamo_compiles()
    first = run(engine, sprite_graph(seed=1, prefix="compile/a", pixelize=False), COMPILE_TIMEOUT_S)
    after_first = _dynamo_compiles()
    assert after_first > start, "the first prompt compiled the UNet and VAE decoder"
    second = run(
        engine, sprite_graph(seed=2, prefix="compile/b", pixelize=False), COMPILE_TIMEOUT_S
    )
    assert _dynamo_compiles() == after_first, "the second prompt of the same shape recompiled"
    # It did run, with the new seed (pixels compared: the PNGs' prompt chunks always differ).
    assert pixels_digest(view_png(engine, first)) != pixels_digest(view_png(engine, second))
