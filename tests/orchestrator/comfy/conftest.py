"""The engine's real server on an ephemeral port (tiny SDXL + our node pack), a client for
it, and the graphs the client tests run."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from orchestrator.comfy import ComfyClient


@pytest.fixture(scope="session")
def comfy_engine_url(orch_engine: Any) -> str:
    """The orchestrator tests' session engine (tests/orchestrator/conftest.py): the real
    backend, shared so the tiny model loads once; these tests leave it idle."""
    return str(orch_engine.url)


@pytest.fixture
def client(comfy_engine_url: str) -> Iterator[ComfyClient]:
    with ComfyClient(comfy_engine_url, timeout=30) as client:
        yield client


@pytest.fixture
def image_graph(client: ComfyClient) -> dict[str, Any]:
    """Upload an 8x8 PNG; LoadImage -> ImageScaleBy x2 -> SaveImage (no model: fast)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buffer, format="PNG")
    stored = client.upload_image(buffer.getvalue(), name=f"src_{uuid.uuid4().hex[:8]}.png")
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": stored.path}},
        "2": {
            "class_type": "ImageScaleBy",
            "inputs": {"image": ["1", 0], "upscale_method": "nearest-exact", "scale_by": 2.0},
        },
        "3": {
            "class_type": "SaveImage",
            "inputs": {"images": ["2", 0], "filename_prefix": "dgxp_client_test"},
        },
    }


@pytest.fixture
def sdxl_graph() -> dict[str, Any]:
    """Tiny SDXL text-to-image: 64x64, 2 steps."""
    return {
        "4": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "tiny_sdxl.safetensors"},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a potion", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
        },
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 42,
                "steps": 2,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {
            "class_type": "SaveImage",
            "inputs": {"images": ["8", 0], "filename_prefix": "dgxp_client_sdxl"},
        },
    }
