"""The streamed synthetic checkpoint writer and the full-size demo layout."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from engine.demo_model import FULLSIZE_FILENAME, FULLSIZE_SPEC
from engine.models.architecture import infer_architecture
from engine.models.checkpoint import load_checkpoint, read_header
from engine.models.streaming import stream_checkpoint
from engine.models.synthetic import SyntheticSpec, build_shapes, build_state_dict
from orchestrator.adapters.cli.app import app


def test_streamed_file_holds_exactly_the_in_memory_state_dict(tmp_path: Path) -> None:
    spec = SyntheticSpec(seed=3, metadata={"dgxpixels.demo": "true"})
    progress: list[tuple[int, int]] = []
    path = stream_checkpoint(
        tmp_path / "s.safetensors",
        spec,
        device="cpu",
        on_progress=lambda d, t: progress.append((d, t)),
    )
    streamed, expected = load_file(str(path)), build_state_dict(spec, torch.float16)
    assert set(streamed) == set(expected)
    for name, tensor in expected.items():
        assert torch.equal(streamed[name], tensor), name
    _, metadata = read_header(path)
    assert metadata == {"dgxpixels.demo": "true"}
    assert progress[-1][0] == progress[-1][1] == sum(t.numel() * 2 for t in expected.values())
    assert [p.name for p in tmp_path.iterdir()] == ["s.safetensors"]  # no temp file left


def test_streamed_file_loads_through_the_checkpoint_loader(tmp_path: Path) -> None:
    path = stream_checkpoint(tmp_path / "s.safetensors", SyntheticSpec(), torch.bfloat16, "cpu")
    ckpt = load_checkpoint(path, "cpu", torch.float32, torch.float32)
    assert ckpt.architecture.unet.model_channels == SyntheticSpec().model_channels


def test_unsupported_dtype_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"dtype=torch\.int8 is not supported"):
        stream_checkpoint(tmp_path / "x.safetensors", SyntheticSpec(), torch.int8, "cpu")


def test_full_size_spec_is_the_real_sdxl_base_layout() -> None:
    shapes = build_shapes(FULLSIZE_SPEC)
    arch = infer_architecture(shapes, FULLSIZE_FILENAME)
    assert arch.unet.diffusers_config()["transformer_layers_per_block"] == [1, 2, 10]
    unet = sum(math.prod(s) for k, s in shapes.items() if k.startswith("model.diffusion_model."))
    assert round(unet / 1e6) == 2567  # SDXL base 1.0's UNet: 2,567 M parameters
    assert round(sum(math.prod(s) for s in shapes.values()) * 2 / 1e9, 2) == 6.94  # GB in fp16
    assert FULLSIZE_SPEC.metadata["dgxpixels.demo"] == "true"
    assert FULLSIZE_FILENAME.startswith("DEMO-random-weights-sdxl-fullsize")


def test_models_demo_help_offers_full_size() -> None:
    result = CliRunner().invoke(app, ["models", "demo", "--help"])
    assert result.exit_code == 0
    assert "--full-size" in result.output
