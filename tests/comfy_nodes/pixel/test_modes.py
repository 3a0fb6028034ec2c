"""Each mode vocabulary is listed once, in `pixel.modes`; algorithms, node combos and
checks all read it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from comfy_nodes.nodes.background import RemoveBackground
from comfy_nodes.nodes.downscale import DownscaleToGrid
from comfy_nodes.nodes.palette import DitherImage, QuantizeColors
from comfy_nodes.nodes.pixelize import PixelizeSprite
from comfy_nodes.pixel.alpha import remove_background
from comfy_nodes.pixel.dither import dither_to_palette
from comfy_nodes.pixel.downscale import downscale_to_grid
from comfy_nodes.pixel.errors import InvalidParameterError
from comfy_nodes.pixel.grid import grid_from_size
from comfy_nodes.pixel.modes import (
    BACKGROUND_MODES,
    DITHER_MODES,
    DOWNSCALE_MODES,
    ModeVocabulary,
)
from comfy_nodes.pixel.palette import Palette
from comfy_nodes.pixel.pipeline import PixelizeOptions, pixelize

VOCABULARIES = [DITHER_MODES, BACKGROUND_MODES, DOWNSCALE_MODES]
BLACK_WHITE = Palette("bw", np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8))


def _image(side: int = 8) -> np.ndarray:
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, size=(side, side, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    return rgba


@pytest.mark.parametrize("mode", DITHER_MODES.names)
def test_every_dither_name_has_an_algorithm(mode: str) -> None:
    out = dither_to_palette(_image(), BLACK_WHITE, mode)
    assert set(np.unique(out[..., :3])) <= {0, 255}


@pytest.mark.parametrize("mode", BACKGROUND_MODES.names)
def test_every_background_name_has_an_algorithm(mode: str) -> None:
    out = remove_background(_image(), mode, key_color=(0, 0, 0))
    assert out.shape == (8, 8, 4)


@pytest.mark.parametrize("mode", DOWNSCALE_MODES.names)
def test_every_downscale_name_has_an_algorithm(mode: str) -> None:
    flat = np.repeat(np.repeat(_image(2), 4, axis=0), 4, axis=1)
    out = downscale_to_grid(flat, grid_from_size(flat.shape[1], flat.shape[0], 2, 2), mode)
    np.testing.assert_array_equal(out, _image(2))


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.argument)
def test_an_unknown_name_is_refused_naming_the_argument_and_every_valid_name(
    vocabulary: ModeVocabulary,
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        vocabulary.parse("sparkle")
    message = str(info.value)
    assert f"{vocabulary.argument}='sparkle' is unknown" in message
    assert message.endswith(", ".join(vocabulary.names))


def test_case_spaces_and_underscores_are_forgiven() -> None:
    assert DITHER_MODES.parse(" Floyd_Steinberg ") == "floyd-steinberg"


def test_the_pipeline_refuses_an_unknown_mode_through_the_registry() -> None:
    with pytest.raises(InvalidParameterError, match=r"downscale_mode='mode-x' is unknown"):
        pixelize(_image(), PixelizeOptions(size=(2, 2), downscale_mode="mode-x"))


def test_a_default_outside_the_names_is_a_definition_error() -> None:
    with pytest.raises(ValueError, match="default 'x' of dither"):
        ModeVocabulary("dither", ("none",), default="x")


def _combos() -> dict[str, Any]:
    def spec(node: Any, section: str, name: str) -> Any:
        return node.INPUT_TYPES()[section][name]

    return {
        "PixelizeSprite.dither": spec(PixelizeSprite, "required", "dither"),
        "PixelizeSprite.remove_background": spec(PixelizeSprite, "required", "remove_background"),
        "PixelizeSprite.downscale_mode": spec(PixelizeSprite, "optional", "downscale_mode"),
        "DitherImage.mode": spec(DitherImage, "required", "mode"),
        "QuantizeColors.dither": spec(QuantizeColors, "required", "dither"),
        "RemoveBackground.mode": spec(RemoveBackground, "required", "mode"),
        "DownscaleToGrid.mode": spec(DownscaleToGrid, "required", "mode"),
    }


_OWNER = {
    "PixelizeSprite.dither": DITHER_MODES,
    "PixelizeSprite.remove_background": BACKGROUND_MODES,
    "PixelizeSprite.downscale_mode": DOWNSCALE_MODES,
    "DitherImage.mode": DITHER_MODES,
    "QuantizeColors.dither": DITHER_MODES,
    "RemoveBackground.mode": BACKGROUND_MODES,
    "DownscaleToGrid.mode": DOWNSCALE_MODES,
}


def test_every_node_combo_is_its_vocabulary_with_its_default() -> None:
    for name, (choices, options) in _combos().items():
        vocabulary = _OWNER[name]
        assert (choices, options["default"]) == (list(vocabulary), vocabulary.default), name


def test_a_name_added_to_a_vocabulary_shows_up_in_every_node_combo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for vocabulary in VOCABULARIES:
        monkeypatch.setattr(vocabulary, "names", (*vocabulary.names, "sparkle"))
    assert all(choices[-1] == "sparkle" for choices, _ in _combos().values())
