"""`/view` and `/upload/image` (+ `/upload/mask`): ComfyUI's path rules, dedupe and limits."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from engine_client import WsClient, run_graph, solid_save_graph
from PIL import Image

from engine.runner import EngineConfig, RunningEngine, start_engine


def _read(path: Path) -> Image.Image:
    """A fully loaded copy, so no file handle stays open."""
    with Image.open(path) as image:
        image.load()
        return image.copy()


def _png(color: tuple[int, ...], size: tuple[int, int] = (3, 2)) -> bytes:
    mode = "RGBA" if len(color) == 4 else "RGB"
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(
    engine: RunningEngine, data: bytes, name: str = "sprite.png", **fields: str
) -> requests.Response:
    files = {"image": (name, data, "image/png")}
    return requests.post(f"{engine.url}/upload/image", files=files, data=fields, timeout=10)


def test_view_serves_a_saved_png_with_its_disposition(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    _, _, entry = run_graph(ws, solid_save_graph(prefix="view/s", red=1.0))
    image = entry["outputs"]["3"]["images"][0]
    response = requests.get(f"{running_engine.url}/view", params=image, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == 'filename="s_00001_.png"'
    pixels = np.asarray(Image.open(io.BytesIO(response.content)))
    assert (
        pixels.shape == (3, 4, 3) and (pixels[..., 0] == 255).all() and (pixels[..., 1:] == 0).all()
    )


def test_view_accepts_the_annotation_suffix(running_engine: RunningEngine) -> None:
    (running_engine.context.paths.input / "in.png").write_bytes(_png((1, 2, 3)))
    response = requests.get(
        f"{running_engine.url}/view", params={"filename": "in.png [input]"}, timeout=10
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"filename": "../secret.png"}, 400),
        ({"filename": "/etc/passwd"}, 400),
        ({"filename": "a..b.png"}, 400),
        ({"filename": "x.png", "subfolder": "../../"}, 403),
        ({"filename": "x.png", "subfolder": "/etc"}, 403),
        ({"filename": "missing.png"}, 404),
        ({"filename": "x.png", "type": "secrets"}, 400),
    ],
)
def test_view_refuses_traversal_and_reports_missing(
    running_engine: RunningEngine, params: dict[str, str], status: int
) -> None:
    secret = running_engine.context.paths.output.parent / "secret.png"
    secret.write_bytes(_png((9, 9, 9)))
    assert (
        requests.get(f"{running_engine.url}/view", params=params, timeout=10).status_code == status
    )
    assert requests.get(f"{running_engine.url}/system_stats", timeout=10).status_code == 200


def test_view_preview_and_channels_reencode(running_engine: RunningEngine) -> None:
    (running_engine.context.paths.output / "rgba.png").write_bytes(_png((10, 20, 30, 128)))
    base = {"filename": "rgba.png"}
    webp = requests.get(
        f"{running_engine.url}/view", params={**base, "preview": "webp;50"}, timeout=10
    )
    assert webp.headers["Content-Type"] == "image/webp"
    jpeg = requests.get(
        f"{running_engine.url}/view", params={**base, "preview": "jpeg;80"}, timeout=10
    )
    assert jpeg.headers["Content-Type"] == "image/jpeg"
    rgb = requests.get(f"{running_engine.url}/view", params={**base, "channel": "rgb"}, timeout=10)
    assert Image.open(io.BytesIO(rgb.content)).mode == "RGB"
    alpha = requests.get(f"{running_engine.url}/view", params={**base, "channel": "a"}, timeout=10)
    alpha_pixels = np.asarray(Image.open(io.BytesIO(alpha.content)))
    assert alpha.headers["Content-Type"] == "image/png" and (alpha_pixels[..., 3] == 128).all()


def test_upload_dedupes_identical_bytes_and_renames_different_ones(
    running_engine: RunningEngine,
) -> None:
    first = _upload(running_engine, _png((1, 1, 1)))
    assert first.json() == {"name": "sprite.png", "subfolder": "", "type": "input"}
    assert _upload(running_engine, _png((1, 1, 1))).json()["name"] == "sprite.png"
    assert _upload(running_engine, _png((2, 2, 2))).json()["name"] == "sprite (1).png"
    assert _upload(running_engine, _png((2, 2, 2))).json()["name"] == "sprite (1).png"
    replaced = _upload(running_engine, _png((3, 3, 3)), overwrite="true").json()
    assert replaced["name"] == "sprite.png"
    stored = running_engine.context.paths.input / "sprite.png"
    assert _read(stored).getpixel((0, 0)) == (3, 3, 3)


def test_uploaded_file_in_a_subfolder_feeds_load_image(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    response = _upload(running_engine, _png((0, 255, 0, 0), (2, 2)), subfolder="dgx")
    assert response.json() == {"name": "sprite.png", "subfolder": "dgx", "type": "input"}
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "dgx/sprite.png"}},
        "2": {"class_type": "JoinImageWithAlpha", "inputs": {"image": ["1", 0], "alpha": ["1", 1]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "up/x"}},
    }
    _, _, entry = run_graph(ws, graph)
    saved = (
        running_engine.context.paths.output / "up" / entry["outputs"]["3"]["images"][0]["filename"]
    )
    assert np.asarray(_read(saved)).tolist() == [[[0, 255, 0, 0]] * 2] * 2


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("sprite.png", {"subfolder": "../../etc"}),
        ("sprite.png", {"subfolder": "/tmp"}),
        ("../escape.png", {}),
    ],
)
def test_upload_traversal_is_refused(
    running_engine: RunningEngine, name: str, fields: dict[str, str]
) -> None:
    response = _upload(running_engine, _png((5, 5, 5)), name=name, **fields)
    assert response.status_code == 400
    assert not (running_engine.context.paths.input.parent / "escape.png").exists()


def test_upload_without_a_file_is_400(running_engine: RunningEngine) -> None:
    response = requests.post(
        f"{running_engine.url}/upload/image", data={"type": "input"}, timeout=10
    )
    assert response.status_code == 400


def test_upload_mask_puts_the_mask_alpha_on_the_original(running_engine: RunningEngine) -> None:
    (running_engine.context.paths.input / "orig.png").write_bytes(_png((200, 100, 50), (2, 2)))
    files = {"image": ("mask.png", _png((0, 0, 0, 64), (2, 2)), "image/png")}
    data = {"original_ref": '{"filename": "orig.png", "type": "input"}', "type": "input"}
    response = requests.post(
        f"{running_engine.url}/upload/mask", files=files, data=data, timeout=10
    )
    assert response.status_code == 200
    stored = _read(running_engine.context.paths.input / "mask.png")
    assert stored.getpixel((1, 1)) == (200, 100, 50, 64)


@pytest.fixture
def small_upload_engine(tmp_path: Path) -> Iterator[RunningEngine]:
    config = EngineConfig(
        base_dir=tmp_path / "small", port=0, device="cpu", max_upload_mb=1, load_comfy_nodes=False
    )
    with start_engine(config) as engine:
        yield engine


def test_oversize_upload_is_413_and_nothing_is_written(small_upload_engine: RunningEngine) -> None:
    response = _upload(small_upload_engine, b"\0" * (2 * 1024 * 1024), name="big.png")
    assert response.status_code == 413
    assert not (small_upload_engine.context.paths.input / "big.png").exists()
    assert _upload(small_upload_engine, _png((1, 2, 3))).status_code == 200
    features = requests.get(f"{small_upload_engine.url}/features", timeout=10).json()
    assert features == {"supports_preview_metadata": True, "max_upload_size": 1024 * 1024}
