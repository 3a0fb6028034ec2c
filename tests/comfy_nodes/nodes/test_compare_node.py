"""The side-by-side node on tiny ComfyUI-shaped batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from comfy_nodes.nodes.compare import SideBySide
from comfy_nodes.pixel.errors import InvalidParameterError


def _solid(height: int, width: int, color: tuple[int, int, int, int]) -> np.ndarray:
    return np.full((height, width, 4), color, dtype=np.uint8)


RED, BLUE, GREEN = (255, 0, 0, 255), (0, 0, 255, 255), (0, 255, 0, 255)


def test_two_sprites_become_one_row_with_its_mask(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    image, mask = SideBySide().compare(
        as_image(_solid(2, 1, RED)), as_image(_solid(1, 1, BLUE)), 1, 1, "transparent", "bottom"
    )
    out = to_rgba(image)
    assert out.shape == (1, 2, 3, 4)
    assert out[0, :, 0].tolist() == [list(RED)] * 2
    assert out[0, :, 2].tolist() == [[0, 0, 0, 0], list(BLUE)]
    assert mask[0].tolist() == [[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]]


def test_optional_inputs_extend_the_row_and_scale_enlarges_it(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    red, blue, green = (as_image(_solid(1, 1, c)) for c in (RED, BLUE, GREEN))
    image, _ = SideBySide().compare(red, blue, 0, 2, "#000000", "bottom", image_d=green)
    out = to_rgba(image)
    assert out.shape == (1, 2, 6, 4)
    assert [tuple(px) for px in out[0, 0, ::2].tolist()] == [RED, BLUE, GREEN]


def test_a_batch_pairs_with_a_single_base_image(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    base = as_image(_solid(1, 1, RED))
    variants = as_image(_solid(1, 1, BLUE), _solid(1, 1, GREEN))
    image, _ = SideBySide().compare(base, variants, 0, 1, "transparent", "bottom")
    out = to_rgba(image)
    assert [[tuple(px) for px in row[0]] for row in out.tolist()] == [[RED, BLUE], [RED, GREEN]]


def test_uneven_batches_are_refused(as_image: Callable[..., Any]) -> None:
    two = as_image(_solid(1, 1, RED), _solid(1, 1, RED))
    three = as_image(*[_solid(1, 1, BLUE)] * 3)
    with pytest.raises(InvalidParameterError, match="do not pair up"):
        SideBySide().compare(two, three, 1, 1, "transparent", "bottom")
