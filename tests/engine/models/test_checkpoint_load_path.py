"""The checkpoint load path: tensors assigned without copies, each step timed."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.models.checkpoint import _assign, load_checkpoint


def test_assign_keeps_the_files_tensor_when_the_dtype_matches() -> None:
    with torch.device("meta"):
        layer = torch.nn.Linear(3, 2)
    weight, bias = torch.randn(2, 3), torch.randn(2)
    _assign(layer, {"weight": weight, "bias": bias}, "test", "file", torch.float32)
    # Same storage: the module holds the loaded tensor itself, no second copy in memory.
    assert layer.weight.data_ptr() == weight.data_ptr()
    assert layer.bias.data_ptr() == bias.data_ptr()


def test_assign_casts_only_when_the_dtype_differs() -> None:
    with torch.device("meta"):
        layer = torch.nn.Linear(3, 2)
    weight = torch.randn(2, 3)
    _assign(layer, {"weight": weight, "bias": torch.zeros(2)}, "test", "file", torch.float16)
    assert layer.weight.dtype == torch.float16
    assert torch.equal(layer.weight, weight.half())


def test_load_records_the_seconds_of_each_step(tiny_sdxl_checkpoint: Path) -> None:
    loaded = load_checkpoint(tiny_sdxl_checkpoint, "cpu", torch.float32)
    assert list(loaded.load_seconds) == ["header", "imports", "read", "build", "names"]
    assert all(seconds >= 0.0 for seconds in loaded.load_seconds.values())
    assert next(loaded.unet.parameters()).device.type == "cpu"
    assert not any(p.is_meta for p in loaded.unet.parameters())
