"""1-px outer outline in a chosen or automatic dark colour."""

from __future__ import annotations

import numpy as np

from comfy_nodes.pixel.color import srgb_to_oklab
from comfy_nodes.pixel.outline import add_outline, auto_outline_color
from comfy_nodes.pixel.palette import Palette, resolve_palette
from comfy_nodes.pixel.pipeline import PixelizeOptions, pixelize

RED = (200, 40, 40, 255)


def _dot(size: int = 5) -> np.ndarray:
    image = np.zeros((size, size, 4), dtype=np.uint8)
    image[2, 2] = RED
    return image


def test_outline_rings_a_single_pixel_in_the_4_neighbourhood() -> None:
    result = add_outline(_dot(), color=(0, 0, 255))
    painted = (result[..., 3] == 255).astype(int).tolist()
    assert painted == [
        [0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ]
    assert result[1, 2].tolist() == [0, 0, 255, 255]
    assert result[2, 2].tolist() == list(RED)  # the sprite itself is untouched


def test_auto_colour_is_a_darker_shade_of_the_darkest_sprite_colour() -> None:
    image = _dot()
    image[2, 3] = (250, 200, 200, 255)
    color = auto_outline_color(image)
    lab_outline = srgb_to_oklab(np.array(color, dtype=np.uint8))
    lab_red = srgb_to_oklab(np.array(RED[:3], dtype=np.uint8))
    assert lab_outline[0] < lab_red[0] * 0.5
    assert color[0] > color[1] and color[0] > color[2]  # still a red
    assert add_outline(image)[1, 2, :3].tolist() == list(color)


def test_sprite_touching_the_border_gets_no_outline_outside_the_canvas() -> None:
    image = np.zeros((2, 2, 4), dtype=np.uint8)
    image[0, 0] = RED
    result = add_outline(image, color=(9, 9, 9))
    assert result[..., 3].tolist() == [[255, 255], [255, 0]]


def test_empty_sprite_stays_empty() -> None:
    blank = np.zeros((3, 3, 4), dtype=np.uint8)
    np.testing.assert_array_equal(add_outline(blank), blank)
    assert auto_outline_color(blank) == (0, 0, 0)


def test_with_a_palette_the_outline_takes_its_nearest_colour() -> None:
    palette = Palette.from_hex("three", ["#c82828", "#501010", "#ffffff"])
    image = _dot()
    image[2, 2] = (200, 40, 40, 255)  # palette colour 0
    result = add_outline(image, palette=palette)
    assert result[1, 2].tolist() == [0x50, 0x10, 0x10, 255]  # the dark red, not a new shade
    wished = add_outline(image, color=(250, 250, 240), palette=palette)
    assert wished[1, 2].tolist() == [255, 255, 255, 255]  # a wish snaps into the palette


def test_a_locked_palette_with_outline_conforms_fully() -> None:
    cells = np.zeros((12, 12, 3), dtype=np.uint8)
    cells[...] = (255, 255, 255)
    cells[3:9, 3:9] = (230, 40, 60)  # a red square on a white background
    picture = np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)
    options = PixelizeOptions(size=(12, 12), palette=resolve_palette("pico-8"), outline=True)
    result = pixelize(picture, options)
    assert (result.sprite[..., 3] == 0).any() and result.report.palette_conformance == 1.0
    assert "some pixels are outside the palette" not in result.report.warnings
    built = pixelize(picture, PixelizeOptions(size=(12, 12), n_colors=4, outline=True))
    assert built.report.palette_conformance == 1.0  # a built palette holds the outline too
