"""Palettes: the value type, the built-in set with exact colours, and name/path resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from comfy_nodes.pixel.errors import InvalidPaletteError
from comfy_nodes.pixel.palette import Palette, palette_swatches, parse_hex_color, resolve_palette
from comfy_nodes.pixel.palettes_builtin import (
    BUILTIN_PALETTES,
    builtin_palette,
    builtin_palette_names,
)


def test_pico8_has_its_sixteen_published_colours_in_order() -> None:
    palette = builtin_palette("pico-8")
    assert len(palette) == 16
    assert palette.hex_codes()[:4] == ["#000000", "#1d2b53", "#7e2553", "#008751"]
    assert palette.hex_codes()[-1] == "#ffccaa"


def test_gameboy_is_four_greens_darkest_first() -> None:
    colors = builtin_palette("gameboy").colors
    assert colors.tolist() == [[15, 56, 15], [48, 98, 48], [139, 172, 15], [155, 188, 15]]
    assert all(g > r and g > b for r, g, b in colors.tolist())


@pytest.mark.parametrize(
    ("name", "count", "first", "last"),
    [
        ("nes", 55, "#000000", "#787878"),
        ("endesga-32", 32, "#be4a2f", "#c28569"),
        ("sweetie-16", 16, "#1a1c2c", "#333c57"),
    ],
)
def test_builtin_palettes_have_exact_sizes_and_no_duplicates(
    name: str, count: int, first: str, last: str
) -> None:
    palette = builtin_palette(name)
    assert len(palette) == count
    assert len(set(palette.hex_codes())) == count
    assert (palette.hex_codes()[0], palette.hex_codes()[-1]) == (first, last)


def test_builtin_names_are_forgiving_about_case_and_separators() -> None:
    assert builtin_palette("PICO8") == builtin_palette("pico-8")
    assert builtin_palette("Endesga_32").name == "endesga-32"


def test_unknown_palette_name_lists_valid_names() -> None:
    with pytest.raises(InvalidPaletteError) as error:
        builtin_palette("vaporwave")
    message = str(error.value)
    assert "'vaporwave'" in message
    for name in builtin_palette_names():
        assert name in message


def test_registry_and_literal_agree() -> None:
    assert tuple(BUILTIN_PALETTES) == builtin_palette_names()


def test_resolve_palette_reads_a_file_or_a_name(tmp_path: Path) -> None:
    path = tmp_path / "two.hex"
    path.write_text("ff0000\n00ff00\n")
    assert resolve_palette(path).colors.tolist() == [[255, 0, 0], [0, 255, 0]]
    assert resolve_palette(str(path)).name == "two"
    assert resolve_palette("sweetie16").name == "sweetie-16"


def test_resolve_palette_with_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidPaletteError, match="does not exist"):
        resolve_palette(str(tmp_path / "nope.gpl"))


def test_palette_is_immutable_and_compares_by_value() -> None:
    palette = Palette("p", np.array([[1, 2, 3]], dtype=np.uint8))
    with pytest.raises(ValueError, match="read-only"):
        palette.colors[0, 0] = 9
    assert palette == Palette("p", np.array([[1, 2, 3]], dtype=np.uint8))
    assert hash(palette) == hash(Palette("p", np.array([[1, 2, 3]], dtype=np.uint8)))


@pytest.mark.parametrize("count", [0, 257])
def test_palette_size_outside_1_to_256_is_refused(count: int) -> None:
    with pytest.raises(InvalidPaletteError, match=f"has {count} colours"):
        Palette("big", np.zeros((count, 3), dtype=np.uint8))


def test_palette_with_wrong_shape_names_the_shape() -> None:
    with pytest.raises(InvalidPaletteError, match=r"\[N, 3\]"):
        Palette("bad", np.zeros((4, 4), dtype=np.uint8))


def test_parse_hex_color_accepts_short_and_long_forms() -> None:
    assert parse_hex_color("#1d2b53") == (29, 43, 83)
    assert parse_hex_color("fa0") == (255, 170, 0)
    with pytest.raises(InvalidPaletteError, match="'#12345g'"):
        parse_hex_color("#12345g")


def test_swatches_draw_each_colour_as_a_square_row_by_row() -> None:
    palette = Palette("p", np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8))
    swatches = palette_swatches(palette, cell=2, columns=2)
    assert swatches.shape == (4, 4, 4)
    assert swatches[0, 0].tolist() == [255, 0, 0, 255]
    assert swatches[1, 3].tolist() == [0, 255, 0, 255]
    assert swatches[3, 1].tolist() == [0, 0, 255, 255]
    assert swatches[3, 3].tolist() == [0, 0, 0, 0]
