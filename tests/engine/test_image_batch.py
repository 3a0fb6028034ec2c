"""Core ImageBatch ("Batch Images") with ComfyUI's semantics: exact pixels on tiny batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.errors import LimitExceeded
from engine.limits import EngineLimits
from engine.nodes.image import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, ImageBatch


def _context(tmp_path: Path, limits: EngineLimits) -> EngineContext:
    paths = EnginePaths(
        models=tmp_path / "models", input=tmp_path / "in", output=tmp_path / "out",
        temp=tmp_path / "tmp",
    )  # fmt: skip
    paths.ensure()
    return EngineContext(paths=paths, limits=limits)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[EngineContext]:
    with bind_engine_context(_context(tmp_path, EngineLimits())) as bound:
        yield bound


def test_image_batch_is_registered_with_comfyuis_name_and_inputs() -> None:
    assert NODE_CLASS_MAPPINGS["ImageBatch"] is ImageBatch
    assert NODE_DISPLAY_NAME_MAPPINGS["ImageBatch"] == "Batch Images"
    assert ImageBatch.INPUT_TYPES() == {"required": {"image1": ("IMAGE",), "image2": ("IMAGE",)}}
    assert (ImageBatch.RETURN_TYPES, ImageBatch.FUNCTION, ImageBatch.CATEGORY) == (
        ("IMAGE",),
        "batch",
        "image",
    )


def test_batches_of_one_size_are_joined_in_order(ctx: EngineContext) -> None:
    first, second = torch.zeros(2, 3, 4, 3), torch.ones(1, 3, 4, 3)

    (joined,) = ImageBatch().batch(first, second)

    assert joined.shape == (3, 3, 4, 3)
    assert joined[:2].sum() == 0 and bool((joined[2] == 1).all())


def test_an_rgb_side_gets_opaque_alpha_and_a_smaller_one_is_resized(ctx: EngineContext) -> None:
    rgba = torch.zeros(1, 4, 4, 4)
    rgb = torch.full((1, 2, 2, 3), 0.5)

    (joined,) = ImageBatch().batch(rgba, rgb)

    assert joined.shape == (2, 4, 4, 4)
    assert torch.allclose(joined[1, ..., :3], torch.full((4, 4, 3), 0.5))
    assert bool((joined[1, ..., 3] == 1.0).all())


def test_a_joined_batch_over_the_pixel_cap_is_refused_naming_it(tmp_path: Path) -> None:
    with bind_engine_context(_context(tmp_path, EngineLimits(max_pixels=4 * 4 * 2))):
        ImageBatch().batch(torch.zeros(1, 4, 4, 3), torch.zeros(1, 4, 4, 3))  # 32: fits
        with pytest.raises(LimitExceeded, match="ImageBatch"):
            ImageBatch().batch(torch.zeros(2, 4, 4, 3), torch.zeros(1, 4, 4, 3))
