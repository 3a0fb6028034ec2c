"""LoadPalette, QuantizeColors and DitherImage nodes on tiny batches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from comfy_nodes.nodes.palette import DitherImage, LoadPalette, QuantizeColors
from comfy_nodes.pixel.errors import InvalidPaletteError, InvalidParameterError
from comfy_nodes.pixel.palette import Palette


def _solid(*colors: tuple[int, int, int]) -> np.ndarray:
    return np.array([[[*c, 255] for c in colors]], dtype=np.uint8)


def test_load_palette_gives_palette_swatches_and_hex_codes() -> None:
    palette, swatches, codes = LoadPalette().load("gameboy")
    assert len(palette) == 4
    assert tuple(swatches.shape) == (1, 8, 32, 4)
    assert codes == "#0f380f #306230 #8bac0f #9bbc0f"


def test_load_palette_file_overrides_the_builtin(tmp_path: Path) -> None:
    path = tmp_path / "mine.hex"
    path.write_text("123456\nabcdef\n")
    palette, _, codes = LoadPalette().load("pico-8", file=str(path))
    assert palette.name == "mine" and codes == "#123456 #abcdef"
    with pytest.raises(InvalidPaletteError, match=r"nope\.gpl"):
        LoadPalette().load("pico-8", file=str(tmp_path / "nope.gpl"))


def test_quantize_builds_one_palette_for_the_whole_batch(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    reds = _solid((250, 0, 0), (240, 0, 0))
    blues = _solid((0, 0, 250), (0, 0, 240))
    image, mask, palette = QuantizeColors().quantize(
        as_image(reds, blues), 2, "median_cut", "none", 0
    )
    out = to_rgba(image)
    assert len(palette) == 2
    used = {tuple(p) for p in out[..., :3].reshape(-1, 3).tolist()}
    assert used == {tuple(c) for c in palette.colors.tolist()}
    assert float(mask.max()) == 0.0


def test_quantize_locks_to_a_connected_palette(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    fixed = Palette("bw", np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8))
    image, _, palette = QuantizeColors().quantize(
        as_image(_solid((20, 20, 20), (230, 230, 230))), 16, "kmeans", "none", 0, palette=fixed
    )
    assert palette is fixed
    assert to_rgba(image)[0, 0, :, 0].tolist() == [0, 255]


def test_quantize_respects_a_mask_as_transparency(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    torch = pytest.importorskip("torch")
    frame = _solid((250, 0, 0), (0, 250, 0))
    mask = torch.tensor([[[0.0, 1.0]]])
    image, out_mask, palette = QuantizeColors().quantize(
        as_image(frame), 4, "kmeans", "none", 0, mask=mask
    )
    assert palette.colors.tolist() == [[250, 0, 0]]
    assert out_mask[0, 0].tolist() == [0.0, 1.0]
    assert to_rgba(image)[0, 0, 1].tolist() == [0, 0, 0, 0]


def test_quantize_with_one_colour_names_colors(as_image: Callable[..., Any]) -> None:
    with pytest.raises(InvalidParameterError, match="colors=1"):
        QuantizeColors().quantize(as_image(_solid((1, 2, 3))), 1, "kmeans", "none", 0)


def test_dither_node_draws_the_bayer_checkerboard(
    as_image: Callable[..., Any], to_rgba: Callable[[Any], np.ndarray]
) -> None:
    grey = np.full((2, 2, 4), 188, dtype=np.uint8)
    grey[..., 3] = 255
    bw = Palette("bw", np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8))
    image, _ = DitherImage().dither(as_image(grey), bw, "bayer-2", "linear")
    assert to_rgba(image)[0, :, :, 0].tolist() == [[0, 255], [255, 0]]
