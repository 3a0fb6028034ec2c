"""The engine's real server on an ephemeral port (tiny SDXL + our node pack), a client for
it, and the graphs the client tests run."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fixtures.sdxl_graphs import txt2img_graph
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
    """Tiny SDXL text-to-image: checkpoint, prompts, 64x64 latent, 2 steps, decode, save."""
    graph: dict[str, Any] = txt2img_graph(prefix="dgxp_client_sdxl")
    return graph
