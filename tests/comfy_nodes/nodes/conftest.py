"""Helpers for node tests: ComfyUI-shaped torch tensors from tiny RGBA arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


@pytest.fixture
def as_image() -> Callable[..., Any]:
    """Turn uint8 RGBA frames into a ComfyUI IMAGE tensor [B, H, W, 4] float 0..1."""
    torch = pytest.importorskip("torch")

    def build(*frames: np.ndarray) -> Any:
        return torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0)

    return build


@pytest.fixture
def to_rgba() -> Callable[[Any], np.ndarray]:
    """Turn a node's IMAGE output back into uint8 RGBA [B, H, W, 4]."""

    def convert(image: Any) -> np.ndarray:
        values: np.ndarray = np.rint(image.numpy() * 255.0).astype(np.uint8)
        return values

    return convert
