"""The engine's caps (pixels, outputs per prompt, text length, body size) refuse a prompt at
`/prompt` with a 400 naming the node and input, before anything is queued or allocated."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from engine_client import WsClient, run_graph, solid_save_graph, submit
from fixtures.sdxl_graphs import txt2img_graph

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.errors import EngineError, LimitExceeded
from engine.graph.validation import validate_prompt
from engine.limits import DEFAULT_LIMITS, EngineLimits
from engine.nodes.image import LoadImage
from engine.runner import EngineConfig, RunningEngine, start_engine


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` (the pixel data is a stub)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def _latent_graph(width: int, height: int, batch: int = 1) -> dict[str, Any]:
    inputs = {"width": width, "height": height, "batch_size": batch}
    return {
        "1": {"class_type": "EmptyLatentImage", "inputs": inputs},
        "2": {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["1", 0]}},
    }


def _only_error(response: requests.Response, node_id: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    errors: list[dict[str, Any]] = body["node_errors"][node_id]["errors"]
    assert len(errors) == 1, errors
    return errors[0]


def _nothing_queued(engine: RunningEngine) -> None:
    queue = requests.get(f"{engine.url}/queue", timeout=10).json()
    assert queue == {"queue_running": [], "queue_pending": []}


def test_a_16384_square_latent_is_refused_at_prompt_naming_node_and_input(
    running_engine: RunningEngine, ws: WsClient
) -> None:
    error = _only_error(submit(running_engine.url, _latent_graph(16384, 16384)), "1")
    assert error["type"] == "pixels_over_limit"
    assert error["extra_info"]["input_name"] == "width"
    assert error["details"] == (
        "width: width 16384 x height 16384 x batch_size 1 = 268,435,456 pixels; the limit is "
        "67,108,864 (max_pixels, `engine serve --max-pixels`)"
    )
    _nothing_queued(running_engine)
    _, _, entry = run_graph(ws, solid_save_graph(prefix="after/ok"))
    assert entry["status"]["status_str"] == "success"


def test_the_pixel_cap_counts_the_batch(running_engine: RunningEngine) -> None:
    response = submit(running_engine.url, _latent_graph(4096, 4096, batch=5))
    error = _only_error(response, "1")
    assert "batch_size 5 = 83,886,080 pixels" in error["details"]


@pytest.mark.parametrize(
    ("width", "height", "batch", "cap", "ok"),
    [
        (64, 64, 2, 64 * 64 * 2, True),
        (64, 64, 3, 64 * 64 * 2, False),
        (8192, 8192, 1, 8192 * 8192, True),
        (8200, 8192, 1, 8192 * 8192, False),
    ],
)
def test_the_pixel_cap_boundary(
    running_engine: RunningEngine, width: int, height: int, batch: int, cap: int, ok: bool
) -> None:
    limits = EngineLimits(max_pixels=cap)
    with bind_engine_context(running_engine.context):
        result = validate_prompt(
            _latent_graph(width, height, batch), running_engine.registry, limits=limits
        )
    assert result.ok is ok


def test_a_too_long_prompt_text_is_refused_naming_the_clip_node(
    running_engine: RunningEngine,
) -> None:
    text = "pixel art potion, " * 600  # 10,800 characters
    response = submit(running_engine.url, txt2img_graph(prompt=text))
    error = _only_error(response, "6")
    assert error["type"] == "value_too_long"
    assert error["extra_info"]["input_name"] == "text"
    assert error["details"].startswith("text: 10,800 characters; the limit is 10,000")
    _nothing_queued(running_engine)


def test_a_huge_combo_value_is_value_too_long_not_echoed(running_engine: RunningEngine) -> None:
    name = "x" * 50_000 + ".safetensors"
    response = submit(running_engine.url, txt2img_graph(ckpt=name))
    error = _only_error(response, "4")
    assert (error["type"], error["extra_info"]["input_name"]) == ("value_too_long", "ckpt_name")
    assert name not in response.text


def test_ten_thousand_output_nodes_are_refused_before_validation(
    running_engine: RunningEngine,
) -> None:
    graph = {"1": {"class_type": "DGXPTest_SolidImage", "inputs": {"width": 2, "height": 2}}}
    for index in range(10_000):
        graph[str(index + 2)] = {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["1", 0]}}
    response = submit(running_engine.url, graph)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "prompt_too_many_outputs"
    assert error["message"] == (
        "Prompt has 10,000 output nodes; the engine runs at most 256 per prompt"
    )
    assert "--max-outputs" in error["details"]
    _nothing_queued(running_engine)


def test_a_loadimage_file_over_the_cap_is_refused_without_decoding(
    running_engine: RunningEngine,
) -> None:
    input_dir = running_engine.context.paths.input
    (input_dir / "bomb.png").write_bytes(_png_header(16384, 16384))
    (input_dir / "big.png").write_bytes(_png_header(9000, 9000))
    for name, says in [("bomb.png", "decompression bomb"), ("big.png", "9000x9000")]:
        graph = {
            "1": {"class_type": "LoadImage", "inputs": {"image": name}},
            "2": {"class_type": "DGXPTest_ShowText", "inputs": {"value": ["1", 0]}},
        }
        error = _only_error(submit(running_engine.url, graph), "1")
        assert error["type"] == "custom_validation_failed"
        assert error["extra_info"]["input_name"] == "image"
        assert says in error["details"] and "--max-pixels" in error["details"]
    _nothing_queued(running_engine)


@pytest.fixture
def capped_engine(tmp_path: Path) -> Iterator[RunningEngine]:
    """An engine with tiny caps and the test node packs (no models)."""
    config = EngineConfig(
        base_dir=tmp_path / "capped",
        port=0,
        device="cpu",
        load_comfy_nodes=False,
        custom_node_dirs=(Path(__file__).parent / "node_packs",),
        max_pixels=1000,
        max_outputs=2,
        max_prompt_chars=8,
        max_upload_mb=1,
    )
    with start_engine(config) as engine:
        yield engine


def test_configured_caps_apply_to_outputs_text_and_pixels(capped_engine: RunningEngine) -> None:
    url = capped_engine.url
    three = {**solid_save_graph(prefix="a"), "4": {"class_type": "PreviewImage"}}
    three["4"]["inputs"] = {"images": ["1", 0]}
    three["5"] = {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}
    assert submit(url, three).json()["error"]["type"] == "prompt_too_many_outputs"
    long_prefix = _only_error(submit(url, solid_save_graph(prefix="123456789")), "3")
    assert long_prefix["type"] == "value_too_long"
    assert long_prefix["extra_info"]["input_name"] == "filename_prefix"
    wide = _only_error(submit(url, _latent_graph(40, 32)), "1")
    assert "= 1,280 pixels; the limit is 1,000" in wide["details"]
    _nothing_queued(capped_engine)


def test_a_size_known_only_at_run_time_fails_the_node_not_the_engine(
    capped_engine: RunningEngine,
) -> None:
    ws = WsClient(capped_engine.url)
    try:
        graph = solid_save_graph(prefix="x")  # a 4x3 solid image
        # Width 0 keeps the aspect: 40x30 is known only once the image is there.
        scale = {"upscale_method": "nearest-exact", "width": 0, "height": 30, "crop": "disabled"}
        graph["2"] = {"class_type": "ImageScale", "inputs": {"image": ["1", 0], **scale}}
        _, events, entry = run_graph(ws, graph)
        error = next(e["data"] for e in events if e["type"] == "execution_error")
        assert (error["node_id"], error["exception_type"]) == ("2", "engine.errors.LimitExceeded")
        assert "ImageScale: 40x30 x batch 1 = 1,200 pixels" in error["exception_message"]
        assert entry["status"]["status_str"] == "error"
        _, _, ok = run_graph(ws, solid_save_graph(prefix="y"))
        assert ok["status"]["status_str"] == "success"
    finally:
        ws.close()


def test_a_prompt_body_over_the_size_cap_is_413(capped_engine: RunningEngine) -> None:
    graph = solid_save_graph(prefix="x")
    body = {"prompt": graph, "extra_data": {"pad": "x" * (2 * 1024 * 1024)}}
    response = requests.post(f"{capped_engine.url}/prompt", json=body, timeout=30)
    assert response.status_code == 413
    _nothing_queued(capped_engine)


@pytest.mark.parametrize("field", ["max_pixels", "max_outputs", "max_prompt_chars"])
@pytest.mark.parametrize("value", [0, -5])
def test_a_non_positive_cap_is_refused_naming_it(tmp_path: Path, field: str, value: int) -> None:
    caps: dict[str, Any] = {field: value}
    config = EngineConfig(base_dir=tmp_path / "bad", port=0, device="cpu", **caps)
    with pytest.raises(EngineError, match=rf"^{field}={value} is not a positive whole number"):
        start_engine(config)
    assert not (tmp_path / "bad").exists()


def test_engine_config_defaults_are_the_limits_defaults() -> None:
    config = EngineConfig()
    assert config.limits() == DEFAULT_LIMITS
    assert (DEFAULT_LIMITS.max_pixels, DEFAULT_LIMITS.max_outputs) == (4096 * 4096 * 4, 256)
    assert DEFAULT_LIMITS.max_prompt_chars == 10_000


def test_load_image_refuses_an_over_cap_file_before_decoding_it(tmp_path: Path) -> None:
    # The run-time guard, for a file swapped after /prompt validated it.
    paths = EnginePaths(
        models=tmp_path / "m", input=tmp_path / "in", output=tmp_path / "out", temp=tmp_path / "t"
    )
    paths.ensure()
    (paths.input / "big.png").write_bytes(_png_header(300, 200))
    context = EngineContext(paths=paths, limits=EngineLimits(max_pixels=300 * 200 - 1))
    with bind_engine_context(context), pytest.raises(LimitExceeded, match="300x200 x batch 1"):
        LoadImage().load_image("big.png")
