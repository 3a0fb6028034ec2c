"""An image-only graph end to end: upload -> LoadImage -> DGXP_PixelizeSprite -> SaveImage."""

from __future__ import annotations

import io

import numpy as np
import requests
from engine_client import WsClient, run_graph
from PIL import Image

from engine.runner import RunningEngine


def _blocky_sprite_png() -> tuple[bytes, np.ndarray]:
    """An 8×8 four-colour sprite, upscaled ×4 with nearest neighbour (fake SDXL pixel art)."""
    rng = np.random.default_rng(7)
    colors = np.array([[20, 20, 40], [200, 40, 40], [40, 200, 60], [240, 220, 90]], dtype=np.uint8)
    sprite = colors[rng.integers(0, 4, size=(8, 8))]
    big = sprite.repeat(4, axis=0).repeat(4, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(big, "RGB").save(buffer, format="PNG")
    return buffer.getvalue(), sprite


def test_load_pixelize_save_recovers_the_sprite(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    png, sprite = _blocky_sprite_png()
    files = {"image": ("blocky.png", png, "image/png")}
    assert (
        requests.post(f"{running_engine.url}/upload/image", files=files, timeout=10).status_code
        == 200
    )
    pixelize = {
        "image": ["1", 0],
        "sprite_size": "8x8",
        "palette": "auto",
        "colors": 4,
        "dither": "none",
        "remove_background": "none",
        "outline": False,
        "seed": 0,
    }
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "blocky.png"}},
        "2": {"class_type": "DGXP_PixelizeSprite", "inputs": pixelize},
        "3": {
            "class_type": "SaveImage",
            "inputs": {"images": ["2", 0], "filename_prefix": "px/sprite"},
        },
    }
    _, _, entry = run_graph(ws, graph)
    assert entry["status"]["status_str"] == "success", entry["status"]
    image = entry["outputs"]["3"]["images"][0]
    body = requests.get(f"{running_engine.url}/view", params=image, timeout=10).content
    with Image.open(io.BytesIO(body)) as result:
        pixels = np.asarray(result.convert("RGB"))
    assert pixels.shape == (8, 8, 3)
    assert (pixels == sprite).all()
