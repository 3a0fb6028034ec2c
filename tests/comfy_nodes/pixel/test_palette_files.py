"""Palette files in every supported format load exactly; malformed ones name file, line, problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from comfy_nodes.pixel.errors import InvalidPaletteError
from comfy_nodes.pixel.palette_files import load_palette

RED_GREEN_BLUE = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_hex_file_loads_in_order_with_optional_hash_and_comments(tmp_path: Path) -> None:
    path = _write(tmp_path, "rgb.hex", "ff0000\n#00ff00 ; green\n\n0000FF\n")
    palette = load_palette(path)
    assert palette.colors.tolist() == RED_GREEN_BLUE
    assert palette.name == "rgb"


def test_gpl_file_loads_with_its_name(tmp_path: Path) -> None:
    text = (
        "GIMP Palette\nName: Primaries\nColumns: 3\n# comment\n"
        "255   0   0\tRed\n  0 255   0\tGreen\n  0   0 255\n"
    )
    palette = load_palette(_write(tmp_path, "p.gpl", text))
    assert palette.colors.tolist() == RED_GREEN_BLUE
    assert palette.name == "Primaries"


def test_jasc_pal_file_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, "p.pal", "JASC-PAL\r\n0100\r\n3\r\n255 0 0\r\n0 255 0\r\n0 0 255\r\n")
    assert load_palette(path).colors.tolist() == RED_GREEN_BLUE


def test_png_palette_keeps_first_appearance_order_and_skips_transparent(tmp_path: Path) -> None:
    strip = np.array(
        [[[0, 0, 255, 255], [255, 0, 0, 255], [0, 0, 255, 255], [9, 9, 9, 0], [0, 255, 0, 255]]],
        dtype=np.uint8,
    )
    path = tmp_path / "swatch.png"
    Image.fromarray(strip).save(path)
    assert load_palette(path).colors.tolist() == [[0, 0, 255], [255, 0, 0], [0, 255, 0]]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.hex", "ff0000\nnot-a-colour\n", r"bad\.hex:2: 'not-a-colour' is not a 6-digit hex"),
        ("empty.hex", "\n; only a comment\n", r"empty\.hex: contains no colours"),
        ("bad.gpl", "Photoshop Palette\n1 2 3\n", r"bad\.gpl:1: first line must be 'GIMP Palette'"),
        ("bad.gpl", "GIMP Palette\n255 0 0\n12 x 3 name\n", r"bad\.gpl:3: expected three integers"),
        ("bad.gpl", "GIMP Palette\n255 0 300\n", r"bad\.gpl:2: colour values must be 0\.\.255"),
        ("bad.gpl", "GIMP Palette\n255 0\n", r"bad\.gpl:2: expected three integers"),
        ("bad.pal", "RIFF\n", r"bad\.pal:1: first line must be 'JASC-PAL'"),
        ("bad.pal", "JASC-PAL\n0200\n1\n0 0 0\n", r"bad\.pal:2: second line must be the version"),
        ("bad.pal", "JASC-PAL\n0100\nmany\n", r"bad\.pal:3: third line must be the colour count"),
        ("bad.pal", "JASC-PAL\n0100\n3\n0 0 0\n", r"bad\.pal:3: declares 3 colours but 1"),
        ("bad.pal", "JASC-PAL\n0100\n1\n0 0 -1\n", r"bad\.pal:4: colour values must be 0\.\.255"),
    ],
)
def test_malformed_palette_file_names_file_line_and_problem(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    with pytest.raises(InvalidPaletteError, match=expected):
        load_palette(_write(tmp_path, name, text))


def test_png_that_is_not_an_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.png"
    path.write_bytes(b"definitely not a png")
    with pytest.raises(InvalidPaletteError, match=r"fake\.png: is not a readable image"):
        load_palette(path)


def test_fully_transparent_png_palette_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.fromarray(np.zeros((2, 2, 4), dtype=np.uint8)).save(path)
    with pytest.raises(InvalidPaletteError, match="no opaque pixels"):
        load_palette(path)


def test_palette_with_more_than_256_colours_is_refused(tmp_path: Path) -> None:
    text = "".join(f"{i:06x}\n" for i in range(300))
    with pytest.raises(InvalidPaletteError, match="has 300 colours; at most 256"):
        load_palette(_write(tmp_path, "many.hex", text))


def test_unknown_suffix_lists_supported_formats(tmp_path: Path) -> None:
    with pytest.raises(InvalidPaletteError, match=r"unknown palette format '\.aco'.*\.gpl"):
        load_palette(_write(tmp_path, "swatches.aco", "x"))


def test_non_utf8_text_palette_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.gpl"
    path.write_bytes(b"GIMP Palette\nName: caf\xe9\n")
    with pytest.raises(InvalidPaletteError, match="not UTF-8"):
        load_palette(path)
