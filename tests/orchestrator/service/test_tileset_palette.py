"""`tileset` with `batch_size` > 1: the variants share one palette (issue 11, Deliver 5).

The demo model renders three different 16x16 tiles in one job; with `colors=6` their
colours together fit one 6-colour palette, where the same renders pixelized one by one
need far more (the control that shows the check can fail).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from service_testkit import MakeService

from comfy_nodes.pixel.pipeline import options_from_widgets, pixelize
from orchestrator.jobs import JobState
from orchestrator.service.values import GenerationRequest

COLORS = 6
WIDGETS = {"sprite_size": "16x16", "palette": "auto", "colors": COLORS, "seed": 3}


def _opaque_colours(rgba: np.ndarray) -> set[tuple[int, int, int]]:
    pixels = rgba.reshape(-1, 4)
    return {(int(r), int(g), int(b)) for r, g, b, _ in pixels[pixels[:, 3] > 0]}


def _rgba(path: str | None) -> np.ndarray:
    assert path is not None
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def test_tileset_variants_share_one_palette(orch_engine: Any, make_service: MakeService) -> None:
    service = make_service([orch_engine.url], workers=1)
    params = {"checkpoint": "tiny_sdxl.safetensors", "steps": 1, "width": 64, "height": 64}
    params |= {"batch_size": 3, "save_raw": True, **WIDGETS}
    request = GenerationRequest(
        template="tileset", prompt="mossy cobblestone", seed=3, params=params
    )
    (job,) = service.submit(request)
    done = service.wait(job.id, 300)
    assert done.state is JobState.SUCCEEDED, done.error
    tiles = [_rgba(files.sprite) for files in done.files]
    assert len(tiles) == 3 and all(t.shape == (16, 16, 4) for t in tiles)
    assert not np.array_equal(tiles[0], tiles[1]) and not np.array_equal(tiles[1], tiles[2])
    variants = [_opaque_colours(t) for t in tiles]
    assert all(len(v) > 1 for v in variants)  # real tiles, not flat fills
    shared = set().union(*variants)
    assert len(shared) <= COLORS, f"{len(shared)} colours over the variants: {sorted(shared)}"
    # Control: each render pixelized on its own gets its own palette, which do not fit one.
    options = options_from_widgets(**WIDGETS)
    alone = [_opaque_colours(pixelize(_rgba(f.raw), options).sprite) for f in done.files]
    assert len(set().union(*alone)) > COLORS
