"""SaveImage encodes a batch in parallel: names, order and pixels stay those of the batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.context import EngineContext, EnginePaths, bind_engine_context
from engine.nodes.image import SaveImage


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[EngineContext]:
    paths = EnginePaths(
        models=tmp_path / "models", input=tmp_path / "in", output=tmp_path / "out",
        temp=tmp_path / "tmp",
    )  # fmt: skip
    paths.ensure()
    with bind_engine_context(EngineContext(paths=paths)) as context:
        yield context


def test_a_batch_keeps_its_order_in_names_ui_and_pixels(ctx: EngineContext) -> None:
    batch = torch.stack([torch.full((3, 5, 3), value / 255.0) for value in range(7)])
    result = SaveImage().save_images(batch, "b/%batch_num%_x")
    names = [entry["filename"] for entry in result["ui"]["images"]]
    assert names == [f"{n}_x_{n + 1:05}_.png" for n in range(7)]
    for n, name in enumerate(names):
        with Image.open(ctx.paths.output / "b" / name) as saved:
            assert np.asarray(saved).tolist() == [[[n] * 3] * 5] * 3


def test_a_failing_write_in_a_batch_raises_and_leaves_no_partial_file(
    ctx: EngineContext,
) -> None:
    batch = torch.zeros((3, 2, 2, 3))
    # A folder where the second image's file must go (the counter scan reads the
    # unexpanded stem, so it does not skip past it).
    (ctx.paths.output / "1_x_00002_.png").mkdir()
    with pytest.raises(IsADirectoryError, match=r"1_x_00002_\.png"):
        SaveImage().save_images(batch, "%batch_num%_x")
    leftovers = sorted(p.name for p in ctx.paths.output.iterdir())
    # Whole files only: the others may be written, never a half-written or temp file.
    assert set(leftovers) <= {"0_x_00001_.png", "1_x_00002_.png", "2_x_00003_.png"}
    assert (ctx.paths.output / "1_x_00002_.png").is_dir()
