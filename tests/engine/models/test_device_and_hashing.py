"""Device/dtype choice and the provenance hash of model files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from engine.models.device import select_device
from engine.models.hashing import FileHasher


def test_cpu_runs_fp32_everywhere() -> None:
    choice = select_device("cpu", "auto")
    assert (choice.device.type, choice.dtype, choice.vae_dtype) == (
        "cpu",
        torch.float32,
        torch.float32,
    )


def test_unknown_precision_lists_valid_values() -> None:
    with pytest.raises(ValueError, match=r"precision='fp4'.*bf16, fp32, fp8"):
        select_device("cpu", "fp4")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_cuda_says_what_to_do() -> None:
    with pytest.raises(ValueError, match=r"CUDA is not available; use device='cpu'"):
        select_device("cuda")


def test_sha256_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"abc")
    hasher = FileHasher()
    assert hasher.sha256(path) == hashlib.sha256(b"abc").hexdigest()
    path.write_bytes(b"abcd")
    assert hasher.sha256(path) == hashlib.sha256(b"abcd").hexdigest()
